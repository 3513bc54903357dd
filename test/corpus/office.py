#!/usr/bin/python3
# Converts the policy corpus's documents with ONE headless LibreOffice, driven over UNO
# (python3-uno), because `soffice --convert-to` takes one output format per start (~6 s each
# here) and cannot write a password-protected .docx/.xlsx at all. Each job loads one source
# (HTML into Writer, CSV into Calc) and stores it in every requested format: "MS Word 2007 XML"
# (.docx), "Calc MS Excel 2007 XML" (.xlsx), writer/calc_pdf_Export (.pdf), writer_jpg_Export
# (.jpg), optionally encrypted the way Word's "Encrypt with Password" does (ECMA-376 Standard
# encryption in a CFB container).
#
# usage: /usr/bin/python3 office.py JOBS.json PROFILE_DIR
#   JOBS.json: [{"src": path, "inFilter": name, "inOptions": str?,
#                "outputs": [{"path": path, "filter": name, "password": str?}]}]
import json
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import NamedValue, PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def named(name, value):
    v = NamedValue()
    v.Name = name
    v.Value = value
    return v


def url(path):
    return uno.systemPathToFileUrl(os.path.abspath(path))


def main():
    jobs_file, profile = sys.argv[1], sys.argv[2]
    with open(jobs_file, encoding='utf-8') as f:
        jobs = json.load(f)
    pipe = 'hallmonitor_corpus_%d' % os.getpid()
    office = subprocess.Popen(
        ['soffice', '--headless', '--invisible', '--nologo', '--norestore', '--nodefault', '--nolockcheck',
         '-env:UserInstallation=' + url(profile), '--accept=pipe,name=%s;urp;StarOffice.ComponentContext' % pipe],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext('com.sun.star.bridge.UnoUrlResolver', local)
        ctx = None
        deadline = time.time() + 90
        while ctx is None:
            try:
                ctx = resolver.resolve('uno:pipe,name=%s;urp;StarOffice.ComponentContext' % pipe)
            except NoConnectException:
                if office.poll() is not None or time.time() > deadline:
                    raise SystemExit('LibreOffice did not start (exit %s)' % office.poll())
                time.sleep(0.25)
        desktop = ctx.ServiceManager.createInstanceWithContext('com.sun.star.frame.Desktop', ctx)
        done = 0
        for job in jobs:
            load = [prop('Hidden', True), prop('FilterName', job['inFilter'])]
            if job.get('inOptions'):
                load.append(prop('FilterOptions', job['inOptions']))
            doc = desktop.loadComponentFromURL(url(job['src']), '_blank', 0, tuple(load))
            if doc is None:
                raise SystemExit('LibreOffice could not open %s' % job['src'])
            try:
                for out in job['outputs']:
                    store = [prop('FilterName', out['filter']), prop('Overwrite', True)]
                    if out.get('password'):
                        data = uno.Any('[]com.sun.star.beans.NamedValue',
                                       (named('OOXPassword', out['password']), named('CryptoType', 'Standard')))
                        store.append(prop('EncryptionData', data))
                    uno.invoke(doc, 'storeToURL', (url(out['path']), uno.Any('[]com.sun.star.beans.PropertyValue', tuple(store))))
                    if not os.path.exists(out['path']) or os.path.getsize(out['path']) == 0:
                        raise SystemExit('LibreOffice wrote nothing for %s' % out['path'])
                    done += 1
            finally:
                doc.close(True)
        print('converted %d files' % done)
        try:
            desktop.terminate()
        except Exception:
            pass  # the bridge drops as soffice exits
    finally:
        try:
            office.wait(timeout=20)
        except subprocess.TimeoutExpired:
            office.kill()
            office.wait()


if __name__ == '__main__':
    main()
