// The small process that starts inspection's tools (djpeg, Tesseract, pdftoppm, 7-Zip…) for the
// gateway (tool-runner.ts). Starting a program forks the process that starts it, and a fork costs
// in proportion to that process's memory: about 19 ms for a 440 MB gateway, during which its
// event loop (the relay's) stands still, against about 4 ms here. Protocol (IPC): in ToolRequest,
// out ToolReply, matched by id; several run at once. The tools read and write files the gateway
// names; nothing here reads them. Exits, stopping its tools, when the gateway goes, and removes
// the gateway's folder if the gateway has died.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface ToolRequest {
  id: number;
  program: string;
  args: string[];
  /** Milliseconds before the tool is killed (its CPU limit, ulimit -t, follows from it too). */
  timeoutMs: number;
  /** The data segment the tool may use (ulimit -d), in MB. */
  dataMb: number;
  /** A file for the tool's standard input (the gateway wrote it); none: its input is closed. */
  inputPath?: string;
  /** The file its standard output goes to (the gateway reads it). */
  outputPath: string;
  /** A file for its standard error (7-Zip says there why it could not open an archive); none: discarded. */
  errorPath?: string;
  /** Most bytes either output file may reach (ulimit -f); the default is MAX_TOOL_OUTPUT. */
  maxOutput?: number;
}

export interface ToolReply {
  id: number;
  ok: boolean;
  timedOut: boolean;
  /** The tool's exit code; null when a signal ended it or it could not be started. */
  code: number | null;
}

/** Most bytes of standard output a tool may write unless asked otherwise (a 12 MP grey picture is 12 MB); past it, the tool fails. */
export const MAX_TOOL_OUTPUT = 64 * 1024 * 1024;

/**
 * ulimit -f for a tool allowed `maxOutput` bytes, in POSIX sh's 512-byte blocks: room for one byte
 * more, so that a tool that went past its allowance leaves a file longer than it and is told apart
 * from one that wrote exactly that much.
 */
function outputBlocks(maxOutput: number): number {
  return Math.floor(maxOutput / 512) + 1;
}

/** Tools running now: killed if the gateway goes while they run. */
const running = new Set<ChildProcess>();

/**
 * Runs one tool under its limits (`/bin/sh` sets them, then becomes the tool), its standard input
 * and output the request's files: the bytes never pass through this process, nor through the
 * gateway's event loop as messages (a 4 MB photo and its thumbnail cost 21 ms a round trip as
 * IPC messages, 7 ms of it in the gateway's send).
 */
function runTool(req: Omit<ToolRequest, 'id'>): Promise<Omit<ToolReply, 'id'>> {
  return new Promise((resolve) => {
    let input: number | undefined;
    let output: number | undefined;
    let errors: number | undefined;
    let child: ChildProcess;
    try {
      input = req.inputPath ? openSync(req.inputPath, 'r') : undefined;
      // Open, the input file is not needed by name: gone at once, even if everything stops now.
      if (req.inputPath) unlinkSync(req.inputPath);
      output = openSync(req.outputPath, 'w', 0o600);
      errors = req.errorPath ? openSync(req.errorPath, 'w', 0o600) : undefined;
      // ulimit -f: the output files' size, in 512-byte blocks (POSIX sh); the CPU limit (ulimit -t)
      // ends the program by itself even if this process dies first.
      const limits = `ulimit -d ${req.dataMb * 1024} && ulimit -f ${outputBlocks(req.maxOutput ?? MAX_TOOL_OUTPUT)} && ulimit -t ${Math.max(1, Math.ceil(req.timeoutMs / 1000) + 5)}`;
      child = spawn('/bin/sh', ['-c', `${limits} && exec "$@"`, 'sh', req.program, ...req.args], {
        stdio: [input ?? 'ignore', output, errors ?? 'ignore'],
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      });
    } catch {
      // A file that cannot be opened, or arguments spawn() refuses: this tool fails, no other.
      resolve({ ok: false, timedOut: false, code: null });
      return;
    } finally {
      if (errors !== undefined) closeSync(errors);
      if (output !== undefined) closeSync(output);
      if (input !== undefined) closeSync(input);
    }
    running.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, Math.max(1, req.timeoutMs));
    child.on('error', () => undefined);
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      // Its CPU limit (ulimit -t) is its time too.
      if (signal === 'SIGXCPU') timedOut = true;
      resolve({ ok: code === 0 && !timedOut, timedOut, code });
    });
  });
}

/** The gateway's private folder for the tools' files (where its requests' outputs go). */
let folder: string | undefined;
/** The gateway: when it is gone, this process is some other process's child. */
const gateway = process.ppid;

/**
 * Stops every tool, then this process. If the gateway has gone (it crashed, or was killed), its
 * folder goes too: the tools' inputs there are pupils' pictures and class lists, and would
 * otherwise stay until the gateway's next start. The folder is kept when the gateway lives on and
 * only let this helper go (it starts another, which uses the same folder).
 */
async function leave(): Promise<never> {
  for (const child of running) child.kill('SIGKILL');
  // The gateway's end closes this channel just before this process is handed to a new parent.
  for (let waited = 0; folder && process.ppid === gateway && waited < 1_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  if (folder && process.ppid !== gateway) rmSync(folder, { recursive: true, force: true });
  process.exit(0);
}

/** The folder a request's output goes to, when it is one a gateway makes (tool-runner.ts) and that gateway's own. */
function folderOf(outputPath: string): string | undefined {
  const dir = dirname(outputPath);
  return basename(dir).startsWith(`hallmonitor-tools-${gateway}-`) ? dir : undefined;
}

// Started as a process by tool-runner.ts (not when imported for its types).
if (process.send && process.argv[2] === '--serve') {
  process.on('message', (req: ToolRequest) => {
    folder ??= folderOf(req.outputPath);
    void runTool(req).then((reply) => {
      process.send?.({ id: req.id, ...reply } satisfies ToolReply, (err: Error | null) => {
        // The gateway has gone: nothing to answer to.
        if (err) void leave();
      });
    });
  });
  process.on('disconnect', () => void leave());
}
