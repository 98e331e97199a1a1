#!/usr/bin/env python3
"""Resend the UDP payloads of a pcap capture (ESP-in-UDP) to a gateway.

usage: udp-resend.py PCAP DST_ADDR DST_PORT [--flip OFFSET] [--count N]

Reads Ethernet/IPv4/UDP records from a classic pcap file, takes each UDP
payload sent to DST_PORT that is not a keepalive or IKE, optionally flips
the byte at OFFSET of the payload, and sends it to DST_ADDR:DST_PORT.
Prints how many it sent. Used by the netns tests to replay or forge ESP.
"""
import socket
import struct
import sys


def payloads(path, port):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        rec = data[off + 16:off + 16 + incl]
        off += 16 + incl
        l2 = 14 if linktype == 1 else 16 if linktype == 113 else 0
        ip = rec[l2:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        dport = struct.unpack(">H", udp[2:4])[0]
        body = udp[8:]
        if dport != port or len(body) <= 8 or body[:4] == b"\0\0\0\0":
            continue
        yield body


def main():
    args = sys.argv[1:]
    flip = None
    count = None
    if "--flip" in args:
        i = args.index("--flip")
        flip = int(args[i + 1])
        del args[i:i + 2]
    if "--count" in args:
        i = args.index("--count")
        count = int(args[i + 1])
        del args[i:i + 2]
    path, addr, port = args[0], args[1], int(args[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for body in payloads(path, port):
        if count is not None and sent >= count:
            break
        if flip is not None:
            body = bytearray(body)
            body[flip] ^= 0x01
            body = bytes(body)
        s.sendto(body, (addr, port))
        sent += 1
    print(sent)


if __name__ == "__main__":
    main()
