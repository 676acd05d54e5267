using System.Net;
using System.Net.Sockets;

namespace Notifications.LoadTest.Client;

/// <summary>A resolved server address: where WebSockets connect and where the REST API lives.</summary>
public sealed class HubEndpoint
{
    private HubEndpoint(Uri baseUri, IPEndPoint ip, string hubPath)
    {
        BaseUri = baseUri;
        Ip = ip;
        HubPath = hubPath;
        HostHeader = baseUri.IsDefaultPort ? baseUri.Host : baseUri.Host + ":" + baseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Tls = baseUri.Scheme is "https" or "wss";
    }

    public Uri BaseUri { get; }

    public IPEndPoint Ip { get; }

    public string HubPath { get; }

    public string HostHeader { get; }

    public bool Tls { get; }

    public string Host => BaseUri.Host;

    public int Port => BaseUri.Port;

    public bool IsLoopback => IPAddress.IsLoopback(Ip.Address);

    public static async Task<HubEndpoint> ResolveAsync(string url, string hubPath)
    {
        var text = url.Trim().TrimEnd('/');
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        var uri = new Uri(text.Replace("ws://", "http://", StringComparison.OrdinalIgnoreCase)
            .Replace("wss://", "https://", StringComparison.OrdinalIgnoreCase) + "/");
        if (!IPAddress.TryParse(uri.Host, out var address))
        {
            var all = await Dns.GetHostAddressesAsync(uri.Host);
            address = all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.First();
        }

        return new HubEndpoint(uri, new IPEndPoint(address, uri.Port), hubPath.StartsWith('/') ? hubPath : "/" + hubPath);
    }

    public Uri Api(string relative) => new(BaseUri, relative.TrimStart('/'));

    public override string ToString() => BaseUri.ToString().TrimEnd('/');
}
