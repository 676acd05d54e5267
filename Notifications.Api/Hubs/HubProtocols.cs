using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace Notifications.Api.Hubs;

/// <summary>Which SignalR hub protocols clients may choose (section <c>Hub</c>).</summary>
public sealed class HubProtocolOptions
{
    public const string Section = "Hub";

    /// <summary>
    /// Also accept SignalR's binary MessagePack protocol (<c>Hub:MessagePack</c>). Off by default: with the Redis
    /// backplane every push is serialized once per accepted protocol before it is published.
    /// </summary>
    public bool MessagePack { get; set; }
}

public static class HubProtocols
{
    public static IServiceCollection AddNotificationsHubProtocols(this IServiceCollection services)
    {
        services.AddOptions<HubProtocolOptions>().BindConfiguration(HubProtocolOptions.Section).ValidateOnStart();

        // In place of SignalR's own JSON protocol (registered by AddSignalR), so "json" is listed and serialized once.
        foreach (var signalRJson in services.Where(d => d.ServiceType == typeof(IHubProtocol) && d.ImplementationType == typeof(JsonHubProtocol)).ToList())
        {
            services.Remove(signalRJson);
        }

        services.AddSingleton<IHubProtocol>(sp => new ExplainingHubProtocol(new JsonHubProtocol(sp.GetRequiredService<IOptions<JsonHubProtocolOptions>>())));

        // Always registered, offered only when enabled: the hub's supported protocols decide both which handshakes
        // succeed and which serializations the Redis backplane publishes.
        var messagePack = new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions { SerializerOptions = MessagePackContract.SerializerOptions }));
        services.AddSingleton<IHubProtocol>(new ExplainingHubProtocol(messagePack));
        services.AddOptions<HubOptions>().Configure<IOptions<HubProtocolOptions>>((hub, protocols) =>
        {
            if (!protocols.Value.MessagePack)
            {
                hub.SupportedProtocols?.Remove(messagePack.Name);
            }
        });
        return services;
    }
}
