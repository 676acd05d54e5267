namespace Notifications.LoadTest.Client;

/// <summary>The SignalR hub protocol every raw client of a run speaks (<c>--protocol</c>).</summary>
public enum HubProtocolKind
{
    Json,
    MessagePack,
}

public static class HubProtocolKinds
{
    /// <summary>The name SignalR's handshake uses, and the one the CLI, the results and the reports show.</summary>
    public static string Name(this HubProtocolKind kind) => kind == HubProtocolKind.MessagePack ? "messagepack" : "json";

    /// <summary>Parses a <c>--protocol</c> value; anything but json or messagepack is a usage error.</summary>
    public static HubProtocolKind Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "json" => HubProtocolKind.Json,
        "messagepack" => HubProtocolKind.MessagePack,
        _ => throw new ArgumentException($"--protocol: '{value}' is not json or messagepack"),
    };
}
