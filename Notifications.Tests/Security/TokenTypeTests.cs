using System.Net;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>The service configured to accept access tokens only (<c>Auth:ValidTypes</c> = <c>at+jwt</c>, RFC 9068).</summary>
public sealed class AccessTokensOnlyFixture : ServiceFixture
{
    public override string ProviderName => "Sqlite";

    protected override Dictionary<string, string?> ExtraSettings() => new() { ["Auth:ValidTypes:0"] = "at+jwt" };

    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() =>
        Task.FromResult(DatabaseSettings.Sqlite(Path.Combine(OwnTempDirectory("notifications-typ-"), "notifications.db")));
}

public sealed class TokenTypeTests(AccessTokensOnlyFixture service) : IClassFixture<AccessTokensOnlyFixture>
{
    [Fact]
    public async Task Only_the_configured_token_type_gets_in_on_REST_and_the_hub()
    {
        var accessToken = TestTokens.Create("typed-user", [], TimeSpan.FromHours(1), tokenType: "at+jwt");
        var otherToken = TestTokens.Create("typed-user", [], TimeSpan.FromHours(1), tokenType: "JWT");

        using (var accepted = service.ClientWithToken(accessToken))
        {
            Assert.Equal(HttpStatusCode.OK, (await accepted.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
        }

        await using (var hub = await service.ConnectWithTokenAsync(() => accessToken))
        {
            Assert.Equal(0, await hub.InvokeAsync<int>("GetUnreadCount"));
        }

        using (var refused = service.ClientWithToken(otherToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await refused.GetAsync("api/notifications/unread-count").WithTimeout()).StatusCode);
        }

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => service.ConnectWithTokenAsync(() => otherToken));
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }
}
