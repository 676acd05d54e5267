using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// Outcomes of one phase's requests: how many succeeded and failed and the first error, with every send and failure
/// also counted on the progress line.
/// </summary>
internal sealed class OutcomeTally(LiveCounters counters)
{
    private long _ok;
    private long _failed;
    private string? _firstError;

    public long Ok => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    public string? FirstError => Volatile.Read(ref _firstError);

    /// <summary>Counts a send; true when it was created.</summary>
    public bool Add(SendOutcome r)
    {
        Interlocked.Increment(ref counters.Sent);
        return r.Created ? Succeeded() : Fail(r.Error ?? "HTTP " + r.Status);
    }

    public bool Succeeded()
    {
        Interlocked.Increment(ref _ok);
        return true;
    }

    public bool Fail(string error)
    {
        Interlocked.Increment(ref _failed);
        Interlocked.Increment(ref counters.Errors);
        Interlocked.CompareExchange(ref _firstError, error, null);
        return false;
    }

    /// <summary>Adds "<paramref name="what"/>: N failed, first: …" to the round's notes when anything failed.</summary>
    public void Note(RoundResult result, string what)
    {
        if (Failed > 0)
        {
            result.Notes.Add($"{what}: {Failed} failed, first: {FirstError}");
        }
    }
}
