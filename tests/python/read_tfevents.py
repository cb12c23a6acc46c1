#!/usr/bin/python3
"""Independent reader for a TensorBoard event file, used by tests/test_tb_writer.cpp.

Checks the TFRecord framing (u64 LE length | masked CRC32C(length) | payload | masked CRC32C(payload))
with its own table-driven CRC32C, decodes each payload with google.protobuf against Event/Summary/Value
messages declared here (TensorFlow's field numbers), and prints JSON:
  {"file_version": "brain.Event:2", "scalars": [{"tag", "step", "value", "wall_time"}, ...]}
Exit 1 with a message on stderr for any framing, CRC or decoding error; exit 3 when google.protobuf
is missing (the caller decides whether that is a skip or a failure).
"""
import json
import struct
import sys

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as e:  # pragma: no cover - reported to the C++ test
    print(f"google.protobuf missing: {e}", file=sys.stderr)
    sys.exit(3)


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    T = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="agegender_test_event.proto", package="agegender_test", syntax="proto3")

    def message(name, fields):
        m = f.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = type_name

    opt, rep = T.LABEL_OPTIONAL, T.LABEL_REPEATED
    message("Value", [("tag", 1, T.TYPE_STRING, opt, None), ("simple_value", 2, T.TYPE_FLOAT, opt, None)])
    message("Summary", [("value", 1, T.TYPE_MESSAGE, rep, ".agegender_test.Value")])
    message("Event", [("wall_time", 1, T.TYPE_DOUBLE, opt, None), ("step", 2, T.TYPE_INT64, opt, None),
                      ("file_version", 3, T.TYPE_STRING, opt, None),
                      ("summary", 5, T.TYPE_MESSAGE, opt, ".agegender_test.Summary")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    desc = pool.FindMessageTypeByName("agegender_test.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def main(path):
    Event = event_class()
    data = open(path, "rb").read()
    out = {"file_version": None, "scalars": []}
    pos, n = 0, 0
    while pos < len(data):
        if len(data) - pos < 12:
            raise ValueError(f"record {n}: truncated header at byte {pos}")
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked(header):
            raise ValueError(f"record {n}: length CRC {length_crc:#x} != {masked(header):#x}")
        if len(data) - pos < 12 + length + 4:
            raise ValueError(f"record {n}: truncated payload at byte {pos}")
        payload = data[pos + 12:pos + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if payload_crc != masked(payload):
            raise ValueError(f"record {n}: payload CRC {payload_crc:#x} != {masked(payload):#x}")
        event = Event()
        event.ParseFromString(payload)
        if n == 0:
            out["file_version"] = event.file_version
        for v in event.summary.value:
            out["scalars"].append({"tag": v.tag, "step": event.step, "value": v.simple_value, "wall_time": event.wall_time})
        pos += 16 + length
        n += 1
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as e:  # any decoding problem is a test failure with a readable reason
        print(f"{sys.argv[1] if len(sys.argv) > 1 else '?'}: {e}", file=sys.stderr)
        sys.exit(1)
