using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Notifications.Api.Auth;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// Every kind of bad token is refused the same way on every door: REST, the hub's negotiate, the hub via the .NET
/// client, and a WebSocket opened straight to the hub with the token in the query string.
/// </summary>
public sealed class JwtValidationTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private const string OtherKey = "another-signing-key-that-is-long-enough-9876543210";

    public static TheoryData<string> BadTokens() =>
    [
        "alg none",
        "wrong issuer",
        "wrong audience",
        "expired beyond the 30 s skew",
        "tampered payload (bad signature)",
        "signed with another key",
        "HS512 (algorithm not allowed)",
        "no expiry",
        "not a JWT",
        "no sub",
        "empty sub",
        "sub over 128 characters",
        "sub with a control character",
        "Sub instead of sub",
        "sub ending in a space",
    ];

    private static string TokenFor(string kind)
    {
        var now = DateTime.UtcNow;
        return kind switch
        {
            "alg none" => Unsigned(new { sub = "mallory", role = "admin", iss = TestTokens.Issuer, aud = TestTokens.Audience, exp = Epoch(now.AddHours(1)), nbf = Epoch(now) }),
            "wrong issuer" => TestTokens.Create("mallory", ["admin"], TimeSpan.FromHours(1), issuer: "https://evil.example"),
            "wrong audience" => TestTokens.Create("mallory", ["admin"], TimeSpan.FromHours(1), audience: "another-service"),
            "expired beyond the 30 s skew" => TestTokens.Create("mallory", ["admin"], TimeSpan.FromMinutes(5), issuedAt: now.AddMinutes(-5).AddSeconds(-60)),
            "tampered payload (bad signature)" => Tampered(TestTokens.For("mallory"), "admin"),
            "signed with another key" => TestTokens.Create("mallory", ["admin"], TimeSpan.FromHours(1), signingKey: OtherKey),
            "HS512 (algorithm not allowed)" => Hs512WithTheServersKey(new { sub = "mallory", role = "admin", iss = TestTokens.Issuer, aud = TestTokens.Audience, exp = Epoch(now.AddHours(1)), nbf = Epoch(now) }),
            "no expiry" => WithoutExpiry(),
            "not a JWT" => "not-a-jwt",
            "no sub" => WithoutSub(),
            "empty sub" => TestTokens.Create("", ["admin"], TimeSpan.FromHours(1)),
            "sub over 128 characters" => TestTokens.Create(new string('m', 129), ["admin"], TimeSpan.FromHours(1)),
            "sub with a control character" => TestTokens.Create("mal\u0007lory", ["admin"], TimeSpan.FromHours(1)),
            "sub ending in a space" => TestTokens.Create("mallory ", ["admin"], TimeSpan.FromHours(1)),
            "Sub instead of sub" => WithClaims(new() { ["Sub"] = "mallory", ["role"] = new[] { "admin" } }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_token_gets_401_on_REST(string kind)
    {
        using var client = service.ClientWithToken(TokenFor(kind));
        using var response = await client.GetAsync("api/notifications/unread-count").WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_token_fails_the_hub_negotiate_and_connect(string kind)
    {
        var token = TokenFor(kind);
        using (var client = service.ClientWithToken(token))
        using (var negotiate = await client.PostAsync("hubs/notifications/negotiate?negotiateVersion=1", null).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
        }

        using (var anonymous = service.Anonymous())
        using (var negotiate = await anonymous.PostAsync($"hubs/notifications/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}", null).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
        }

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => service.ConnectWithTokenAsync(() => token));
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, await WebSocketStatusAsync(token));
    }

    [Fact]
    public async Task A_valid_token_passes_every_door_the_bad_ones_are_refused_at()
    {
        var token = TestTokens.For("valid-user");
        using var client = service.ClientWithToken(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("hubs/notifications/negotiate?negotiateVersion=1", null).WithTimeout()).StatusCode);
        await using var hub = await service.ConnectWithTokenAsync(() => token);
        Assert.Equal(0, await hub.InvokeAsync<int>("GetUnreadCount"));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await WebSocketStatusAsync(token));
    }

    [Fact]
    public async Task A_hub_socket_without_a_token_is_refused_by_the_hubs_authorization()
    {
        // No token is no authentication failure, only no user: the 401 comes from the hub's [Authorize], which hub
        // sockets meet in a lane of their own.
        var (status, handshake) = await RawHubSocket.OpenAsync(service.BaseUri, token: "");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Null(handshake);
    }

    [Fact]
    public async Task A_token_expired_within_the_clock_skew_is_still_accepted()
    {
        var token = TestTokens.Create("skewed-user", [], TimeSpan.FromMinutes(5), issuedAt: DateTime.UtcNow.AddMinutes(-5).AddSeconds(-10));
        using var client = service.ClientWithToken(token);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task A_query_string_token_is_ignored_outside_the_hub()
    {
        using var anonymous = service.Anonymous();
        using var response = await anonymous.GetAsync($"api/notifications/unread-count?access_token={Uri.EscapeDataString(TestTokens.For("query-user"))}").WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Claim_names_match_exactly_on_REST_and_on_the_hub()
    {
        // "Role" is not "role" (JWT claim names are case-sensitive): the token's holder is neither an admin nor in the
        // role, on REST as on the hub, and sees the role's notifications through neither.
        var user = TestUsers.New("cased-claims");
        var role = $"r{Guid.NewGuid():N}"[..10];
        var token = WithClaims(new() { ["sub"] = user, ["Role"] = new[] { "admin", role } });
        using var client = service.ClientWithToken(token);
        using (var adminOnly = await client.GetAsync("api/admin/stats").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Forbidden, adminOnly.StatusCode);
        }

        using (var send = await client.PostAsJsonAsync("api/notifications", TestUsers.Notification("hi", "someone")).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Forbidden, send.StatusCode);
        }

        await using var hub = await service.ConnectWithTokenAsync(() => token);
        var toRole = await service.SendAsync("admin-1", new { type = "test.claims", title = "to the role", audience = new { roles = new[] { role } } });
        var toUser = await service.SendAsync("admin-1", TestUsers.Notification("to the user", user));
        var received = await hub.ReceiveUntilAsync(toUser);
        Assert.DoesNotContain(received, n => n.Id == toRole);
        Assert.Equal(1, await hub.InvokeAsync<int>("GetUnreadCount"));
        using var unread = await client.GetAsync("api/notifications/unread-count").WithTimeout();
        Assert.Equal(1, (await unread.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/notifications/{toRole}").WithTimeout()).StatusCode);
    }

    private static string WithoutSub() => WithClaims(new() { ["role"] = new[] { "admin" } });

    private static string WithClaims(Dictionary<string, object> claims) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = TestTokens.Issuer,
        Audience = TestTokens.Audience,
        Expires = DateTime.UtcNow.AddHours(1),
        Claims = claims,
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(TestTokens.SigningKey)), SecurityAlgorithms.HmacSha256),
    });

    [Fact]
    public async Task A_tampered_copy_of_a_token_already_accepted_is_still_refused()
    {
        var token = TestTokens.For("cached-user");
        using (var client = service.ClientWithToken(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
        }

        Assert.True(TokenCache.TryGet(token, out _, out _, out _), "the accepted token was not kept");
        using var tampered = service.ClientWithToken(Tampered(token, "admin"));
        using var response = await tampered.GetAsync("api/notifications/unread-count").WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task An_accepted_token_keeps_its_roles_and_user_on_every_later_request()
    {
        var userToken = TestTokens.For("plain-cached-user");
        using var user = service.ClientWithToken(userToken);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var refused = await user.PostAsJsonAsync("api/notifications", TestUsers.Notification("hi", "someone")).WithTimeout();
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var admin = service.ClientWithToken(TestTokens.For("cached-admin", "admin"));
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var sent = await admin.PostAsJsonAsync("api/notifications", TestUsers.Notification("hi", "plain-cached-user")).WithTimeout();
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }

        Assert.True(TokenCache.TryGet(userToken, out var principal, out _, out _));
        Assert.Equal("plain-cached-user", principal.Identity?.Name);
        Assert.False(principal.IsInRole("admin"));
    }

    [Fact]
    public async Task An_accepted_token_is_not_served_from_memory_past_its_expiry()
    {
        var token = TestTokens.Create("short-lived-user", [], TimeSpan.FromSeconds(2));
        using var client = service.ClientWithToken(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
        Assert.True(TokenCache.TryGet(token, out _, out _, out var expiresUtc));

        await Task.Delay(expiresUtc - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));

        Assert.False(TokenCache.TryGet(token, out _, out _, out _), "an expired token was still served from memory");
    }

    private ValidatedTokenCache TokenCache => service.Services.GetRequiredService<ValidatedTokenCache>();

    private async Task<HttpStatusCode> WebSocketStatusAsync(string token) => (await RawHubSocket.OpenAsync(service.BaseUri, token)).Status;

    private static long Epoch(DateTime time) => new DateTimeOffset(time).ToUnixTimeSeconds();

    private static string Base64Url(byte[] bytes) => Base64UrlEncoder.Encode(bytes);

    private static string Unsigned(object payload) =>
        $"{Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "none", typ = "JWT" }))}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload))}.";

    /// <summary>Signed by hand: the server's key is too short for IdentityModel to sign HS512 with it, not for an attacker.</summary>
    private static string Hs512WithTheServersKey(object payload)
    {
        var signingInput = $"{Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS512", typ = "JWT" }))}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload))}";
        var signature = HMACSHA512.HashData(Encoding.UTF8.GetBytes(TestTokens.SigningKey), Encoding.ASCII.GetBytes(signingInput));
        return $"{signingInput}.{Base64Url(signature)}";
    }

    /// <summary>The same signature over a payload whose roles were edited: what a client tampering with its token sends.</summary>
    private static string Tampered(string token, string role)
    {
        var parts = token.Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64UrlEncoder.DecodeBytes(parts[1]))!;
        var edited = payload.ToDictionary(p => p.Key, p => (object)p.Value);
        edited["role"] = new[] { role };
        return $"{parts[0]}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(edited))}.{parts[2]}";
    }

    private static string WithoutExpiry()
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = TestTokens.Issuer,
            Audience = TestTokens.Audience,
            Claims = new Dictionary<string, object> { ["sub"] = "mallory", ["role"] = new[] { "admin" } },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(TestTokens.SigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}
