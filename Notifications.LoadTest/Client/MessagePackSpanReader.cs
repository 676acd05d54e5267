using System.Buffers.Binary;

namespace Notifications.LoadTest.Client;

/// <summary>
/// A forward-only MessagePack reader over a span, with only what the hub client reads: integers, strings (as UTF-8
/// spans, never decoded), booleans, array and map headers, and skipping any value. The package's
/// <c>MessagePackReader</c> needs a <c>ReadOnlySequence</c> or <c>ReadOnlyMemory</c>, and the receive path only has a
/// span of a pooled buffer. The <c>TryRead…</c> methods consume nothing when the next value is of another kind, so the
/// caller can skip it. Truncated or malformed input throws <see cref="FormatException"/>.
/// </summary>
internal ref struct MessagePackSpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public MessagePackSpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public bool TryReadBool(out bool value)
    {
        var b = Peek();
        value = b == 0xc3;
        if (b is not (0xc2 or 0xc3))
        {
            return false;
        }

        _pos++;
        return true;
    }

    /// <summary>Reads an integer of any width; false (nothing consumed) for another kind or a uint64 above long.MaxValue.</summary>
    public bool TryReadInt64(out long value)
    {
        var b = Peek();
        if (b <= 0x7f || b >= 0xe0)
        {
            // fixint: 0x00-0x7f are 0…127 and 0xe0-0xff are -32…-1, exactly the byte read as signed
            value = (sbyte)b;
            _pos++;
            return true;
        }

        int size;
        switch (b)
        {
            case 0xcc:
                value = At(1, 1)[0];
                size = 1;
                break;
            case 0xcd:
                value = BinaryPrimitives.ReadUInt16BigEndian(At(1, 2));
                size = 2;
                break;
            case 0xce:
                value = BinaryPrimitives.ReadUInt32BigEndian(At(1, 4));
                size = 4;
                break;
            case 0xcf:
                var u = BinaryPrimitives.ReadUInt64BigEndian(At(1, 8));
                if (u > long.MaxValue)
                {
                    value = 0;
                    return false;
                }

                value = (long)u;
                size = 8;
                break;
            case 0xd0:
                value = (sbyte)At(1, 1)[0];
                size = 1;
                break;
            case 0xd1:
                value = BinaryPrimitives.ReadInt16BigEndian(At(1, 2));
                size = 2;
                break;
            case 0xd2:
                value = BinaryPrimitives.ReadInt32BigEndian(At(1, 4));
                size = 4;
                break;
            case 0xd3:
                value = BinaryPrimitives.ReadInt64BigEndian(At(1, 8));
                size = 8;
                break;
            default:
                value = 0;
                return false;
        }

        _pos += 1 + size;
        return true;
    }

    /// <summary>Reads a string as its UTF-8 bytes (a slice of the input, nothing decoded or copied).</summary>
    public bool TryReadString(out ReadOnlySpan<byte> utf8)
    {
        var b = Peek();
        int header, length;
        if (b is >= 0xa0 and <= 0xbf)
        {
            (header, length) = (1, b & 0x1f);
        }
        else if (b is 0xd9 or 0xda or 0xdb)
        {
            (header, length) = LengthAfter(b - 0xd9);
        }
        else
        {
            utf8 = default;
            return false;
        }

        utf8 = At(header, length);
        _pos += header + length;
        return true;
    }

    public bool TryReadArrayHeader(out int count)
    {
        var b = Peek();
        int header;
        if (b is >= 0x90 and <= 0x9f)
        {
            (header, count) = (1, b & 0x0f);
        }
        else if (b is 0xdc or 0xdd)
        {
            (header, count) = LengthAfter(b - 0xdb);
        }
        else
        {
            count = 0;
            return false;
        }

        _pos += header;
        return true;
    }

    public bool TryReadMapHeader(out int count)
    {
        var b = Peek();
        int header;
        if (b is >= 0x80 and <= 0x8f)
        {
            (header, count) = (1, b & 0x0f);
        }
        else if (b is 0xde or 0xdf)
        {
            (header, count) = LengthAfter(b - 0xdd);
        }
        else
        {
            count = 0;
            return false;
        }

        _pos += header;
        return true;
    }

    /// <summary>Skips one value, however deeply nested (iteratively: a hostile nesting depth cannot exhaust the stack).</summary>
    public void Skip()
    {
        long pending = 1;
        while (pending > 0)
        {
            // Every value takes at least one byte: a count beyond what is left is malformed, not a long loop.
            if (pending > _data.Length - _pos)
            {
                throw Truncated();
            }

            pending--;
            var b = _data[_pos];
            switch (b)
            {
                case <= 0x7f or >= 0xe0 or 0xc0 or 0xc2 or 0xc3:
                    _pos++;
                    break;
                case <= 0x8f:
                    _pos++;
                    pending += 2L * (b & 0x0f);
                    break;
                case <= 0x9f:
                    _pos++;
                    pending += b & 0x0f;
                    break;
                case <= 0xbf:
                    Advance(1 + (b & 0x1f));
                    break;
                case 0xc4 or 0xc5 or 0xc6:
                    AdvanceLength(b - 0xc4, extra: 0);
                    break;
                case 0xc7 or 0xc8 or 0xc9:
                    AdvanceLength(b - 0xc7, extra: 1);
                    break;
                case 0xca or 0xce or 0xd2:
                    Advance(5);
                    break;
                case 0xcb or 0xcf or 0xd3:
                    Advance(9);
                    break;
                case 0xcc or 0xd0:
                    Advance(2);
                    break;
                case 0xcd or 0xd1:
                    Advance(3);
                    break;
                case >= 0xd4 and <= 0xd8:
                    Advance(2 + (1 << (b - 0xd4)));
                    break;
                case 0xd9 or 0xda or 0xdb:
                    AdvanceLength(b - 0xd9, extra: 0);
                    break;
                case 0xdc or 0xdd:
                    pending += Count(b - 0xdc);
                    break;
                case 0xde or 0xdf:
                    pending += 2 * Count(b - 0xde);
                    break;
                default:
                    throw new FormatException($"MessagePack: invalid type byte 0x{b:x2}");
            }
        }
    }

    private readonly byte Peek() => _pos < _data.Length ? _data[_pos] : throw Truncated();

    /// <summary><paramref name="length"/> bytes starting <paramref name="offset"/> bytes after the current position.</summary>
    private readonly ReadOnlySpan<byte> At(int offset, int length) =>
        length >= 0 && _data.Length - _pos - offset >= length ? _data.Slice(_pos + offset, length) : throw Truncated();

    private void Advance(int bytes)
    {
        _ = At(0, bytes);
        _pos += bytes;
    }

    /// <summary>Header size and length of a str/bin/ext/array/map whose length field is 1, 2 or 4 bytes (width 0, 1, 2).</summary>
    private readonly (int Header, int Length) LengthAfter(int width)
    {
        var length = width switch
        {
            0 => At(1, 1)[0],
            1 => BinaryPrimitives.ReadUInt16BigEndian(At(1, 2)),
            _ => BinaryPrimitives.ReadUInt32BigEndian(At(1, 4)),
        };
        return length <= int.MaxValue ? (1 + (1 << width), (int)length) : throw Truncated();
    }

    /// <summary>Skips a str/bin/ext: its header, <paramref name="extra"/> bytes (an ext's type) and its payload.</summary>
    private void AdvanceLength(int width, int extra)
    {
        var (header, length) = LengthAfter(width);
        Advance(header + extra + length);
    }

    /// <summary>Consumes the header of an array16/32 or map16/32 (width 0 or 1) and returns its count.</summary>
    private long Count(int width)
    {
        var (header, count) = LengthAfter(width + 1);
        _pos += header;
        return count;
    }

    private static FormatException Truncated() => new("MessagePack: truncated or malformed value");
}
