#!/usr/bin/python3
"""Writes version 2 and 3 copies of the version 1 journal seeds in tests/fuzz/corpus/journal.

The journal versions differ only in the header's magic and the record checksum
(docs/results-format.md, "Journal"), so each copy keeps its seed's records, torn or damaged
ones as they are: a record whose version 1 checksum holds gets the checksum of the new
version, any other keeps its bytes. Rerun after a change of the format (a new version: add
it to CHECKSUMS) and commit the seeds it writes:

    /usr/bin/python3 tests/fuzz/journal_seeds.py
"""
import pathlib
import struct
import zlib

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus" / "journal"
HEAD = struct.Struct("<IIQQ")  # record: magic, row count, payload length, checksum


def fnv1a64(data, h=0xCBF29CE484222325):
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


# The record checksum of each version, over the record's count and length (12 bytes) and payload.
CHECKSUMS = {
    1: lambda counted, payload: fnv1a64(payload),
    2: lambda counted, payload: fnv1a64(payload, fnv1a64(counted)),
    3: lambda counted, payload: zlib.crc32(payload, zlib.crc32(counted)),
}


def as_version(seed, version):
    data = bytearray(seed)
    data[7] = ord(str(version))
    (text,) = struct.unpack_from("<I", data, 8)
    at = 8 + 4 + text + 8
    while at + HEAD.size <= len(data):
        magic, count, length, checksum = HEAD.unpack_from(data, at)
        payload = bytes(data[at + HEAD.size : at + HEAD.size + length])
        counted = bytes(data[at + 4 : at + 16])
        if len(payload) == length and checksum == CHECKSUMS[1](counted, payload):
            HEAD.pack_into(data, at, magic, count, length, CHECKSUMS[version](counted, payload))
        at += HEAD.size + length
    return bytes(data)


def main():
    seeds = sorted(p for p in CORPUS.iterdir() if p.read_bytes().startswith(b"MSWJRNL1"))
    for seed in seeds:
        for version in sorted(CHECKSUMS)[1:]:
            (CORPUS / f"v{version}-{seed.name}").write_bytes(as_version(seed.read_bytes(), version))


if __name__ == "__main__":
    main()
