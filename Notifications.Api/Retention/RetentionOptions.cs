using System.ComponentModel.DataAnnotations;

namespace Notifications.Api.Retention;

public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>
    /// Notifications older than this are deleted, read or not; one sent with an Idempotency-Key stays until its key's
    /// window (Idempotency:WindowHours) has passed too, so a retry within the window is replayed, never sent again.
    /// </summary>
    [Range(1, 36_500)]
    public int Days { get; set; } = 90;

    /// <summary>
    /// How often each instance runs the cleanup. Several instances may run it at once: a batch another run deleted
    /// first is deleted, and taken off the broadcast tallies, by that run only.
    /// </summary>
    [Range(1, 86_400)]
    public int IntervalSeconds { get; set; } = 600;

    /// <summary>
    /// Notifications per cleanup transaction, and rows per statement: every delete or update touches at most this
    /// many, so no lock is held for long.
    /// </summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;
}
