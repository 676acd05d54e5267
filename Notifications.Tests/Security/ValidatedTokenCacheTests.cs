using System.Security.Claims;
using Notifications.Api.Auth;
using Notifications.Tests.Delivery;

namespace Notifications.Tests.Security;

/// <summary>The cache of validated tokens stays bounded and never outlives a token.</summary>
public sealed class ValidatedTokenCacheTests
{
    private readonly TestClock clock = new();

    [Fact]
    public void An_entry_is_served_until_its_token_expires_and_never_after()
    {
        var cache = new ValidatedTokenCache(clock);
        var now = clock.GetUtcNow();
        cache.Add("token-a", Principal("a"), now, now.AddMinutes(5));

        Assert.True(cache.TryGet("token-a", out var principal, out _, out var expires));
        Assert.Equal("a", principal.Identity?.Name);
        Assert.Equal(now.AddMinutes(5), expires);

        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False(cache.TryGet("token-a", out _, out _, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Only_the_exact_token_text_hits_and_expired_tokens_are_not_kept()
    {
        var cache = new ValidatedTokenCache(clock);
        var now = clock.GetUtcNow();
        cache.Add("token-b", Principal("b"), now, now.AddMinutes(5));
        cache.Add("token-expired", Principal("c"), now.AddMinutes(-10), now.AddSeconds(-1));

        Assert.False(cache.TryGet("token-B", out _, out _, out _));
        Assert.False(cache.TryGet("token-b ", out _, out _, out _));
        Assert.False(cache.TryGet("token-expired", out _, out _, out _));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void The_cache_never_holds_more_than_its_capacity_and_drops_expired_entries_first()
    {
        var cache = new ValidatedTokenCache(clock);
        var now = clock.GetUtcNow();
        cache.Add("short", Principal("short"), now, now.AddSeconds(10));
        for (var i = 1; i < ValidatedTokenCache.Capacity; i++)
        {
            cache.Add($"long-{i}", Principal($"u{i}"), now, now.AddHours(1));
        }

        Assert.Equal(ValidatedTokenCache.Capacity, cache.Count);
        clock.Advance(TimeSpan.FromSeconds(11));
        cache.Add("newcomer", Principal("n"), now, now.AddHours(1));

        Assert.Equal(ValidatedTokenCache.Capacity, cache.Count);
        Assert.True(cache.TryGet("long-1", out _, out _, out _), "a live entry went while an expired one could have");
        Assert.True(cache.TryGet("newcomer", out _, out _, out _));

        for (var i = 0; i < 3 * ValidatedTokenCache.Capacity; i++)
        {
            cache.Add($"flood-{i}", Principal("f"), now, now.AddHours(1));
            Assert.InRange(cache.Count, 1, ValidatedTokenCache.Capacity);
        }
    }

    private static ClaimsPrincipal Principal(string userId) =>
        new(new ClaimsIdentity([new Claim(AuthSetup.UserIdClaim, userId)], "Bearer", AuthSetup.UserIdClaim, AuthSetup.RoleClaim));
}
