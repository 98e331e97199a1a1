#!/usr/bin/python3
"""Sends hand-made VRRP packets for netns-tests/vrrp.sh: one per bad kind,
so the test can check that each lands on its own counter and changes no
state. Runs inside a namespace the test created; sends to 224.0.0.18 only.

  vrrp-inject.py IFNAME SRC VRID KIND...
  KIND: ttl version type checksum count interval vrid
"""
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def advert(src, vrid, kind, vips):
    ver_type, prio, count, interval, ttl = 0x31, 254, len(vips), 1, 255
    if kind == "ttl":
        ttl = 64
    elif kind == "version":
        ver_type = 0x21
    elif kind == "type":
        ver_type = 0x32
    elif kind == "count":
        count = 0
    elif kind == "interval":
        interval = 0
    elif kind == "vrid":
        vrid = (vrid % 255) + 1
    body = struct.pack("!BBBBHH", ver_type, vrid, prio, count, interval, 0)
    body += b"".join(socket.inet_aton(v) for v in vips)
    c = csum(body)  # RFC 9568: no pseudo-header
    if kind == "checksum":
        c ^= 0x0100
    body = body[:6] + struct.pack("!H", c) + body[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(body), 0, 0, ttl, 112, 0,
                      socket.inet_aton(src), socket.inet_aton("224.0.0.18"))
    return hdr + body


def main():
    ifname, src, vrid, kinds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    vips = ["192.168.50.100", "10.1.0.1"]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    for k in kinds:
        s.sendto(advert(src, vrid, k, vips), ("224.0.0.18", 0))


main()
