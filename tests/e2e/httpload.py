#!/usr/bin/env python3
"""httpload.py - hostile clients and a strict scraper for the exporter's tests.

  httpload.py hold ADDR N
      Opens N connections to ADDR (HOST:PORT) and keeps N open: the even ones
      say nothing, the odd ones send a request head one byte at a time (one
      byte per connection per round, a round every 0.05 s) and never finish
      it; a connection the server closes is opened again.  Prints
      "holding N" once all N are open, then runs until standard input ends
      or SIGTERM, and prints "reopened K" (K connections reopened).

  httpload.py churn PROG WAVES WIDTH DONE
      Starts WIDTH copies of PROG (examples/tagged: linked with pooltag),
      has each serve a few requests (so that each exports its counters),
      then has them all quit; WAVES times over.  Creates the file DONE at
      the end and prints "N processes".

  httpload.py scrape ADDR TIMEOUT UNTIL MIN
      GET /metrics again and again (one every 0.02 s at most, fifty times
      the rate of a Prometheus scraping every second, so that the scraper
      is not itself the load), each answered in full within TIMEOUT
      seconds (the scraper's own deadline, from before connecting to the
      last byte) with status 200 and the scrape's own metrics, until the
      file UNTIL exists and at least MIN scrapes were made.  Prints
      "N scrapes, median M s, slowest S s (connected after C s, first byte
      after F s), at most P processes" and exits 0; on a scrape
      late or wrong, says which and exits 1.  Gives up after 600 s.
"""
import errno
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time


def addr_of(spec):
    host, port = spec.rsplit(":", 1)
    return host, int(port)


def hold(spec, n):
    addr = addr_of(spec)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096
    sel = selectors.DefaultSelector()
    sent = {}  # slow connection -> bytes of head sent
    reopened = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))

    def open_one(i):
        s = socket.create_connection(addr, timeout=30)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        if i % 2:
            sent[s] = 0

    for i in range(n):
        open_one(i)
    print("holding %d" % n, flush=True)
    sel.register(sys.stdin, selectors.EVENT_READ, -1)
    while not stop:
        for key, _ in sel.select(0.05):
            if key.data == -1:
                if not os.read(sys.stdin.fileno(), 4096):
                    stop.append(1)
                continue
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                continue  # an answer (a 400 or 431): the server closes next
            sel.unregister(s)
            sent.pop(s, None)
            s.close()
            open_one(key.data)
            reopened += 1
        for s in list(sent):
            k = sent[s]
            if k < len(head):
                try:
                    s.send(head[k:k + 1])
                    sent[s] = k + 1
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EPIPE, errno.ECONNRESET):
                        raise
    print("reopened %d" % reopened, flush=True)


def churn(prog, waves, width, done):
    n = 0
    for _ in range(waves):
        ps = [subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True) for _ in range(width)]
        for p in ps:
            p.stdin.write("work 3\n")
            p.stdin.flush()
        for p in ps:
            if p.stdout.readline() != "ok\n":
                sys.exit("%s: no answer to 'work 3'" % prog)
        for p in ps:
            p.stdin.write("quit\n")
            p.stdin.close()
        for p in ps:
            p.stdout.read()
            if p.wait() != 0:
                sys.exit("%s exited with status %d" % (prog, p.returncode))
        n += width
    open(done, "w").close()
    print("%d processes" % n)


def scrape_once(addr, timeout):
    """The response of one GET /metrics within timeout seconds, or raises."""
    start = time.monotonic()

    def left():
        t = timeout - (time.monotonic() - start)
        if t <= 0:
            raise socket.timeout("past the deadline")
        return t

    s = socket.create_connection(addr, timeout=left())
    connected = time.monotonic() - start
    first = None
    try:
        s.settimeout(left())
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: httpload\r\n\r\n")
        data = b""
        while True:
            s.settimeout(left())
            b = s.recv(65536)
            if first is None:
                first = time.monotonic() - start
            if not b:
                break
            data += b
    finally:
        s.close()
    return data, (time.monotonic() - start, connected, first)


def scrape(spec, timeout, until, least):
    addr = addr_of(spec)
    deadline = time.monotonic() + 600
    n, most, took_all = 0, 0, []
    while time.monotonic() < deadline:
        if n >= least and os.path.exists(until):
            took_all.sort()
            print("%d scrapes, median %.3f s, slowest %.3f s (connected after %.3f s, "
                  "first byte after %.3f s), at most %d processes"
                  % (n, took_all[n // 2][0], took_all[-1][0], took_all[-1][1],
                     took_all[-1][2], most))
            return 0
        try:
            data, took = scrape_once(addr, timeout)
        except OSError as e:
            print("scrape %d not answered within %g s: %s" % (n + 1, timeout, e))
            return 1
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 ") or b"\npooltag_scrape_processes " not in body:
            print("scrape %d: bad answer: %r" % (n + 1, data[:200]))
            return 1
        for line in body.split(b"\n"):
            if line.startswith(b"pooltag_scrape_processes "):
                most = max(most, int(line.split()[1]))
        n += 1
        took_all.append(took)
        time.sleep(max(0.0, 0.02 - took[0]))
    print("gave up after 600 s and %d scrapes" % n)
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 6 and sys.argv[1] == "churn":
        churn(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) == 6 and sys.argv[1] == "scrape":
        sys.exit(scrape(sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])))
    else:
        sys.exit(__doc__)
