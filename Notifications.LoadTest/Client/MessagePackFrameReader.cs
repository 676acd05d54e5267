namespace Notifications.LoadTest.Client;

/// <summary>Where <see cref="MessagePackFrameReader"/> hands what it read.</summary>
internal interface IHubMessageSink
{
    /// <summary>The handshake response record (JSON, without its 0x1E).</summary>
    void OnHandshake(ReadOnlySpan<byte> response);

    void OnMessage(in HubMessage message);
}

/// <summary>
/// One connection's MessagePack hub protocol stream, fed one WebSocket message at a time: first the JSON handshake
/// response up to 0x1E, then VarInt-length-prefixed messages. A WebSocket message may hold several of them, and one may
/// continue in the next WebSocket message (its prefix too): the incomplete tail is kept until the rest arrives.
/// </summary>
internal sealed class MessagePackFrameReader(int maxMessage)
{
    private byte[]? _partial;
    private bool _handshakeDone;

    public void Read(ReadOnlySpan<byte> data, IHubMessageSink sink)
    {
        if (_partial is not null)
        {
            // Rare: a message split across WebSocket messages. Join it with the new data.
            var joined = new byte[_partial.Length + data.Length];
            _partial.CopyTo(joined, 0);
            data.CopyTo(joined.AsSpan(_partial.Length));
            _partial = null;
            data = joined;
        }

        if (!_handshakeDone)
        {
            var end = data.IndexOf(HubProtocol.RecordSeparator);
            if (end < 0)
            {
                Keep(data);
                return;
            }

            _handshakeDone = true;
            sink.OnHandshake(data[..end]);
            data = data[(end + 1)..];
        }

        while (!data.IsEmpty)
        {
            if (!MessagePackHubProtocol.TryReadLengthPrefix(data, out var length, out var prefix))
            {
                Keep(data);
                return;
            }

            if (length > maxMessage)
            {
                throw new HubConnectException("message too large");
            }

            if (data.Length - prefix < length)
            {
                Keep(data);
                return;
            }

            sink.OnMessage(MessagePackHubProtocol.Parse(data.Slice(prefix, length)));
            data = data[(prefix + length)..];
        }
    }

    private void Keep(ReadOnlySpan<byte> tail)
    {
        if (tail.Length > maxMessage + 5)
        {
            throw new HubConnectException("message too large");
        }

        _partial = tail.ToArray();
    }
}
