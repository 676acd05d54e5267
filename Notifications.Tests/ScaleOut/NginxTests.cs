using Microsoft.AspNetCore.Http.Connections;
using Notifications.Tests.Infrastructure;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// The checked-in nginx rules (deploy/nginx) in front of two real instances: clients from different networks spread
/// over both, every request of one client reaches one instance (negotiate, WebSocket, LongPolling polls), pushes arrive.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class NginxTests(CrossInstanceCluster cluster)
{
    private const string HubPath = "/hubs/notifications";

    private NginxServer Nginx => cluster.Nginx!;

    private string[] Upstreams => [$"127.0.0.1:{cluster.A.Port}", $"127.0.0.1:{cluster.B.Port}"];

    [Fact]
    public async Task Twenty_websocket_clients_spread_over_both_instances_and_get_their_pushes()
    {
        var networks = Enumerable.Range(1, 20).ToArray();
        var users = networks.Select(n => TestUsers.New($"ws{n}")).ToArray();
        var clients = new List<HubClient>();
        try
        {
            foreach (var (network, user) in networks.Zip(users))
            {
                clients.Add(await cluster.ConnectThroughNginxAsync(network, user));
            }

            var instanceBySource = InstancePerSource(networks, $"{HubPath}/negotiate");
            Assert.Equal(networks.Length, instanceBySource.Count);
            Assert.Equal(Upstreams.Order(), instanceBySource.Values.Distinct().Order());

            var id = await SendThroughNginxAsync(new { type = "scale.nginx", title = "to twenty", audience = new { users } });
            foreach (var client in clients)
            {
                Assert.Equal(id, (await client.NextNotificationAsync()).Id);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        // nginx logs a WebSocket when it closes: each one was upgraded (101) on the instance that negotiated it.
        var negotiated = InstancePerSource(networks, $"{HubPath}/negotiate");
        await Timeouts.Eventually(
            () => Task.FromResult(networks.All(n => Nginx.AccessLog().Any(e => IsFrom(e, n) && e.Path == HubPath && e.Status == 101))),
            "nginx logged every closed WebSocket");
        foreach (var network in networks)
        {
            var upgrade = Nginx.AccessLog().Single(e => IsFrom(e, network) && e.Path == HubPath && e.Status == 101);
            Assert.Equal(negotiated[LoopbackSource.Network(network).ToString()], upgrade.Upstream);
        }
    }

    [Fact]
    public async Task LongPolling_clients_keep_every_request_on_one_instance()
    {
        int[] networks = [31, 32, 33, 34];
        var users = networks.Select(n => TestUsers.New($"lp{n}")).ToArray();
        var clients = new List<HubClient>();
        try
        {
            foreach (var (network, user) in networks.Zip(users))
            {
                clients.Add(await cluster.ConnectThroughNginxAsync(network, user, HttpTransportType.LongPolling));
            }

            var id = await SendAsync(cluster.B, new { type = "scale.poll", title = "by poll", audience = new { users } });
            foreach (var client in clients)
            {
                Assert.Equal(id, (await client.NextNotificationAsync()).Id);
                var page = await client.SyncAsync(id - 1);
                Assert.Contains(page.Items, n => n.Id == id);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        var hubRequests = Nginx.AccessLog().Where(e => networks.Any(n => IsFrom(e, n)) && e.Path.StartsWith(HubPath, StringComparison.Ordinal)).ToList();
        Assert.Contains(hubRequests, e => e.Method == "GET" && e.Path == HubPath && e.Status == 200);
        Assert.Contains(hubRequests, e => e.Method == "POST" && e.Path == HubPath && e.Status == 200);
        // A poll or send on an instance that does not know the connection would be 404. The client's closing DELETE
        // may race the server's own close of a connection whose poll it just cancelled, and then 404 is harmless;
        // its routing is still checked below.
        Assert.All(hubRequests.Where(e => e.Method != "DELETE"), e => Assert.NotEqual(404, e.Status));
        foreach (var network in networks)
        {
            Assert.Single(hubRequests.Where(e => IsFrom(e, network)).Select(e => e.Upstream).Distinct());
        }

        Assert.Equal(Upstreams.Order(), hubRequests.Select(e => e.Upstream).Distinct().Order());
    }

    [Fact]
    public async Task Access_log_never_contains_the_token_of_a_browser_style_hub_request()
    {
        // Browsers put the token in the query string of /hubs/* (no headers on a WebSocket).
        var token = TestTokens.For(TestUsers.New("browser"));
        using var http = LoopbackSource.HttpClient(LoopbackSource.Network(42), Nginx.BaseUri);
        using var response = await http.PostAsync($"hubs/notifications/negotiate?negotiateVersion=1&access_token={token}", null).WithTimeout(what: "negotiate");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);

        var log = Nginx.RawAccessLog();
        Assert.Contains(Nginx.AccessLog(), e => IsFrom(e, 42) && e.Path == $"{HubPath}/negotiate" && e.Status == 200);
        Assert.DoesNotContain(token, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token, Nginx.ErrorLog(), StringComparison.Ordinal);
        Assert.DoesNotContain("access_token", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_services_own_pages_pass_the_origin_check_through_nginx_on_any_host_and_port()
    {
        // A page served through nginx calls back with its own origin, the proxy's host and port; the instances list no
        // allowed origins, so only the same-origin rule can let it through, and only if nginx passes the port on.
        foreach (var host in new[] { "127.0.0.1", "localhost" })
        {
            using var http = new HttpClient { BaseAddress = Nginx.BaseUri, Timeout = Timeouts.Default };
            using var request = new HttpRequestMessage(HttpMethod.Post, "hubs/notifications/negotiate?negotiateVersion=1");
            request.Headers.Host = $"{host}:{Nginx.Port}";
            request.Headers.Add("Origin", $"http://{host}:{Nginx.Port}");
            request.Headers.Authorization = new("Bearer", TestTokens.For(TestUsers.New("page")));
            using var response = await http.SendAsync(request).WithTimeout(what: "negotiate with the page's origin");
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }
    }

    private Dictionary<string, string> InstancePerSource(int[] networks, string path)
    {
        var bySource = Nginx.AccessLog()
            .Where(e => e.Path == path && networks.Any(n => IsFrom(e, n)))
            .GroupBy(e => e.RemoteAddress)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Upstream).Distinct().ToList());
        Assert.All(bySource, pair => Assert.Single(pair.Value));
        return bySource.ToDictionary(pair => pair.Key, pair => pair.Value[0]);
    }

    private static bool IsFrom(AccessLogEntry entry, int network) => entry.RemoteAddress == LoopbackSource.Network(network).ToString();

    private async Task<long> SendThroughNginxAsync(object request)
    {
        using var http = new HttpClient { BaseAddress = Nginx.BaseUri, Timeout = Timeouts.Default };
        http.DefaultRequestHeaders.Authorization = new("Bearer", TestTokens.For("admin-1", "admin"));
        return (await http.SendNotificationAsync(request)).Id;
    }
}
