using System.Collections.Concurrent;
using System.Security.Claims;

namespace Notifications.Api.Auth;

/// <summary>
/// Tokens this instance has already validated, by their exact text, until they expire. A backend service sends with
/// one token thousands of times a minute, and a browser's negotiate is followed by its socket upgrade with the same
/// token; validating each time (parse, signature, claims, a cloned parameter set) was a fifth of what a persisted send
/// allocated. A hit is only ever the same signed bytes: any change to the token is a miss and a full validation.
/// Bounded, so holding one entry per idle connection never happens: when full, expired entries go, and if that frees
/// nothing the cache starts over.
/// </summary>
public sealed class ValidatedTokenCache(TimeProvider time)
{
    public const int Capacity = 1024;

    // Longer than any token a browser would send; beyond it, caching would mostly hold attacker-chosen bytes.
    private const int LongestCachedToken = 4096;

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private int count;

    /// <summary>Looks the token up without making a string of it (a header slice, on every request).</summary>
    public bool TryGet(ReadOnlySpan<char> token, out ClaimsPrincipal principal, out DateTimeOffset issuedUtc, out DateTimeOffset expiresUtc)
    {
        if (entries.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(token, out var key, out var entry))
        {
            if (time.GetUtcNow() < entry.ExpiresUtc)
            {
                (principal, issuedUtc, expiresUtc) = (entry.Principal, entry.IssuedUtc, entry.ExpiresUtc);
                return true;
            }

            if (entries.TryRemove(KeyValuePair.Create(key, entry)))
            {
                Interlocked.Decrement(ref count);
            }
        }

        (principal, issuedUtc, expiresUtc) = (null!, default, default);
        return false;
    }

    /// <summary>Keeps a token that just passed validation, until its own expiry (the clock skew is not extended to it).</summary>
    public void Add(string token, ClaimsPrincipal principal, DateTimeOffset issuedUtc, DateTimeOffset expiresUtc)
    {
        if (token.Length > LongestCachedToken || time.GetUtcNow() >= expiresUtc)
        {
            return;
        }

        if (Volatile.Read(ref count) >= Capacity)
        {
            MakeRoom();
        }

        if (entries.TryAdd(token, new Entry(principal, issuedUtc, expiresUtc)))
        {
            Interlocked.Increment(ref count);
        }
    }

    public int Count => Volatile.Read(ref count);

    private void MakeRoom()
    {
        var now = time.GetUtcNow();
        foreach (var (token, entry) in entries)
        {
            if (entry.ExpiresUtc <= now && entries.TryRemove(KeyValuePair.Create(token, entry)))
            {
                Interlocked.Decrement(ref count);
            }
        }

        if (Volatile.Read(ref count) >= Capacity)
        {
            entries.Clear();

            // Adds and removes racing the clear may have counted themselves already; recount once.
            Volatile.Write(ref count, entries.Count);
        }
    }

    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset IssuedUtc, DateTimeOffset ExpiresUtc);
}
