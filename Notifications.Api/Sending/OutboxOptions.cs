using System.ComponentModel.DataAnnotations;

namespace Notifications.Api.Sending;

public sealed class OutboxOptions : IValidatableObject
{
    public const string Section = "Outbox";

    /// <summary>How long an instance owns a push it committed before another instance may take it over.</summary>
    [Range(1, 3600)]
    public int LeaseSeconds { get; set; } = 15;

    /// <summary>How often each instance looks for pushes whose lease expired (an instance died after commit).</summary>
    [Range(1, 3600)]
    public int SweepIntervalSeconds { get; set; } = 5;

    /// <summary>
    /// How long pushed entries wait to be deleted with the next sends' transaction before they get one of their own.
    /// Shorter than the lease, or a sweep would push them again.
    /// </summary>
    [Range(0, 3_600_000)]
    public int PushedDeleteDelayMilliseconds { get; set; } = 250;

    /// <summary>Test-only fault: commit sends but never push them from this process (to kill it between the two).</summary>
    public bool FaultHoldPushes { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PushedDeleteDelayMilliseconds >= LeaseSeconds * 1000L)
        {
            yield return new ValidationResult(
                $"{nameof(PushedDeleteDelayMilliseconds)} must be shorter than {nameof(LeaseSeconds)}: entries held longer than their lease are pushed again.",
                [nameof(PushedDeleteDelayMilliseconds)]);
        }
    }
}

public sealed class IdempotencyOptions
{
    public const string Section = "Idempotency";

    /// <summary>
    /// How long an Idempotency-Key replays its send. Retention keeps a keyed send at least this long, also when
    /// Retention:Days is shorter, so a retry within the window always finds it.
    /// </summary>
    [Range(1, 24 * 30)]
    public int WindowHours { get; set; } = 24;
}
