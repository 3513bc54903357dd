// Several small writes in one turn of the event loop as one system call: the socket is corked at
// the first and uncorked on the next turn (an end() flushes it too), so nothing waits longer than
// that turn. Used for the replies to the school's server and for the message to the next hop.

interface Corkable {
  writableCorked: number;
  destroyed: boolean;
  cork(): void;
  uncork(): void;
}

export function corkForThisTurn(socket: Corkable | undefined): void {
  if (!socket || socket.writableCorked || socket.destroyed) return;
  socket.cork();
  setImmediate(() => socket.uncork());
}
