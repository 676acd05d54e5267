using System.ComponentModel.DataAnnotations;

namespace Notifications.Api.Sending;

public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>How long an instance owns a push it committed before another instance may take it over.</summary>
    [Range(1, 3600)]
    public int LeaseSeconds { get; set; } = 15;

    /// <summary>How often each instance looks for pushes whose lease expired (an instance died after commit).</summary>
    [Range(1, 3600)]
    public int SweepIntervalSeconds { get; set; } = 5;

    /// <summary>Test-only fault: commit sends but never push them from this process (to kill it between the two).</summary>
    public bool FaultHoldPushes { get; set; }
}

public sealed class IdempotencyOptions
{
    public const string Section = "Idempotency";

    [Range(1, 24 * 30)]
    public int WindowHours { get; set; } = 24;
}
