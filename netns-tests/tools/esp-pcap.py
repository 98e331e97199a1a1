#!/usr/bin/env python3
"""Read the ESP-in-UDP packets (RFC 3948, port 4500) of a classic pcap file.

usage: esp-pcap.py PCAP SRC_ADDR ivs
       esp-pcap.py PCAP SRC_ADDR above SPI=TOP...

Only packets from SRC_ADDR to port 4500 that are ESP (not a 1-byte NAT-T
keepalive, not IKE behind the 4-byte non-ESP marker) are read. The ESP
header is SPI (4 bytes), sequence number (4), then the 8-byte IV.

ivs:   prints "packets=N dup_iv=D members=a,b": D is how many packets
       repeat an (SPI, IV) pair already seen (a nonce reuse when > 0);
       members are the IV's top 4 bits (the sender's member id, README
       "ESP details").
above: prints how many distinct (SPI, seq) pairs have seq > TOP for the
       listed SPIs (hex or decimal): the packets a replay could still get
       past a window that restarted at TOP.
"""
import socket
import struct
import sys


def esp(path, src):
    want = socket.inet_aton(src)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    l2 = 14 if linktype == 1 else 16 if linktype == 113 else 0
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        rec = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = rec[l2:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17 or ip[12:16] != want:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        if len(udp) < 8 or struct.unpack(">H", udp[2:4])[0] != 4500:
            continue
        body = udp[8:]
        if len(body) < 16 or body[:4] == b"\0\0\0\0":
            continue
        spi, seq = struct.unpack(">II", body[:8])
        yield spi, seq, body[8:16]


def main():
    path, src, mode = sys.argv[1:4]
    if mode == "ivs":
        seen, dup, members, n = set(), 0, set(), 0
        for spi, _, iv in esp(path, src):
            n += 1
            members.add(iv[0] >> 4)
            if (spi, iv) in seen:
                dup += 1
            seen.add((spi, iv))
        print("packets=%d dup_iv=%d members=%s" %
              (n, dup, ",".join(str(m) for m in sorted(members))))
    elif mode == "above":
        tops = {}
        for arg in sys.argv[4:]:
            spi, top = arg.split("=")
            tops[int(spi, 0)] = int(top, 0)
        pairs = {(spi, seq) for spi, seq, _ in esp(path, src)
                 if spi in tops and seq > tops[spi]}
        print(len(pairs))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
