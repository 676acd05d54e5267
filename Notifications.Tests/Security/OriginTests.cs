using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// <c>Cors:AllowedOrigins</c> drives CORS for REST and negotiate and the WebSocket Origin check. Browsers do not
/// apply CORS to WebSockets, so the upgrade itself must be refused for a foreign origin (cross-site WebSocket hijacking).
/// </summary>
public sealed class OriginTests(HardenedServiceFixture service) : IClassFixture<HardenedServiceFixture>
{
    private const string Evil = "https://evil.example";
    private const string Allowed = HardenedServiceFixture.AllowedOrigin;

    [Fact]
    public async Task WebSocket_upgrade_from_a_foreign_origin_is_refused_with_403()
    {
        var (status, handshake) = await OpenHubWebSocketAsync(Evil);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Null(handshake);
    }

    [Fact]
    public async Task WebSocket_upgrade_from_an_allowed_origin_completes_the_SignalR_handshake()
    {
        var (status, handshake) = await OpenHubWebSocketAsync(Allowed);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
        Assert.Equal("{}", handshake);
    }

    [Fact]
    public async Task WebSocket_upgrade_without_an_origin_is_allowed_for_server_side_clients()
    {
        var (status, handshake) = await OpenHubWebSocketAsync(origin: null);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
        Assert.Equal("{}", handshake);
    }

    [Fact]
    public async Task The_dotnet_client_connects_from_an_allowed_origin_and_is_refused_from_a_foreign_one()
    {
        await using var allowed = await service.ConnectWithTokenAsync(() => TestTokens.For("origin-ok"), WithOrigin(Allowed));
        Assert.Equal(0, await allowed.InvokeAsync<int>("GetUnreadCount"));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => service.ConnectWithTokenAsync(() => TestTokens.For("origin-bad"), WithOrigin(Evil)));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task Negotiate_and_REST_answer_CORS_for_an_allowed_origin()
    {
        using var client = service.Client("cors-user");
        using var negotiate = await SendAsync(client, HttpMethod.Post, "hubs/notifications/negotiate?negotiateVersion=1", Allowed);
        using var rest = await SendAsync(client, HttpMethod.Get, "api/notifications/unread-count", Allowed);

        foreach (var response in new[] { negotiate, rest })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Allowed, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
            Assert.Equal("true", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Credentials")));
        }
    }

    [Fact]
    public async Task Preflight_from_an_allowed_origin_allows_the_send_and_from_a_foreign_origin_is_refused()
    {
        using var anonymous = service.Anonymous();
        using var allowed = await PreflightAsync(anonymous, Allowed);
        using var foreign = await PreflightAsync(anonymous, Evil);

        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(Allowed, Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("POST", string.Join(',', allowed.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        await AssertForbiddenProblemAsync(foreign);
    }

    [Fact]
    public async Task REST_and_negotiate_from_a_foreign_origin_are_refused_even_with_a_valid_token()
    {
        using var client = service.Client("cors-victim", "admin");
        using var rest = await SendAsync(client, HttpMethod.Get, "api/notifications/unread-count", Evil);
        using var negotiate = await SendAsync(client, HttpMethod.Post, "hubs/notifications/negotiate?negotiateVersion=1", Evil);
        using var send = await SendAsync(client, HttpMethod.Post, "api/notifications", Evil,
            """{"type":"csrf.try","title":"forged","audience":{"everyone":true}}""");

        await AssertForbiddenProblemAsync(rest);
        await AssertForbiddenProblemAsync(negotiate);
        await AssertForbiddenProblemAsync(send);
        Assert.False(rest.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task The_services_own_pages_are_same_origin_and_need_no_listing()
    {
        using var client = service.Client("same-origin-user");
        var ownOrigin = service.BaseUri.GetLeftPart(UriPartial.Authority);
        using var response = await SendAsync(client, HttpMethod.Get, "api/notifications/unread-count", ownOrigin);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>The .NET client sends these headers on negotiate and on the WebSocket upgrade alike.</summary>
    private static Action<IHubConnectionBuilder> WithOrigin(string origin) =>
        builder => builder.Services.Configure<HttpConnectionOptions>(o => o.Headers["Origin"] = origin);

    [Fact]
    public async Task A_foreign_event_stream_connect_is_refused_with_403_not_a_server_error()
    {
        // EventSource accepts only text/event-stream, in which no ProblemDetails can be written: the status still says why.
        using var client = service.Client("cors-sse", "admin");
        using var request = new HttpRequestMessage(HttpMethod.Get, "hubs/notifications?id=someone-elses");
        request.Headers.Add("Origin", Evil);
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await client.SendAsync(request).WithTimeout(what: "an event-stream connect from a foreign origin");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string origin, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Origin", origin);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request).WithTimeout(what: $"{method} {path}");
    }

    private static async Task<HttpResponseMessage> PreflightAsync(HttpClient client, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "api/notifications");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return await client.SendAsync(request).WithTimeout(what: "the preflight");
    }

    private static async Task AssertForbiddenProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Origin not allowed", problem.RootElement.GetProperty("title").GetString());
    }

    private Task<(HttpStatusCode Status, string? Handshake)> OpenHubWebSocketAsync(string? origin) =>
        RawHubSocket.OpenAsync(service.BaseUri, TestTokens.For(TestUsers.New("ws", 16)), origin);
}
