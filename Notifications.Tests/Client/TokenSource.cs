using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>
/// An app's token provider for the SDK: mints a new token on every call (each one different), counts the calls,
/// and can hold calls at a gate so a test knows the client is stuck before (re)connecting.
/// </summary>
public sealed class TokenSource(string userId, params string[] roles)
{
    private readonly List<string> issued = [];
    private readonly TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Func<bool> holdWhen = () => false;

    /// <summary>Lifetime of the token a call mints (asked at that moment).</summary>
    public Func<TimeSpan> Lifetime { get; init; } = () => TimeSpan.FromHours(1);

    public int Calls
    {
        get
        {
            lock (issued)
            {
                return issued.Count;
            }
        }
    }

    public IReadOnlyList<string> Issued
    {
        get
        {
            lock (issued)
            {
                return [.. issued];
            }
        }
    }

    /// <summary>From now on, calls made while <paramref name="when"/> holds wait until <see cref="Release"/>.</summary>
    public void Hold(Func<bool> when) => Volatile.Write(ref holdWhen, when);

    /// <summary>Completes when a call is waiting at the gate: the client is between connections.</summary>
    public Task WaitUntilHeldAsync(TimeSpan? timeout = null) => held.Task.WithTimeout(timeout, "the client to ask for a new token");

    public void Release() => gate.TrySetResult();

    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        int call;
        lock (issued)
        {
            call = issued.Count;
            issued.Add(string.Empty);
        }

        var lifetime = Lifetime();
        if (Volatile.Read(ref holdWhen)())
        {
            held.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }

        // A different expiry per call makes every token distinct, so "fresh" is observable.
        var token = TestTokens.Create(userId, roles, lifetime + TimeSpan.FromSeconds(call));
        lock (issued)
        {
            issued[call] = token;
        }

        return token;
    }
}
