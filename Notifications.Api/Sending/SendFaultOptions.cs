using System.ComponentModel.DataAnnotations;

namespace Notifications.Api.Sending;

/// <summary>Test-only faults for the send path; all off by default.</summary>
public sealed class SendFaultOptions
{
    public const string Section = "Faults";

    /// <summary>
    /// Holds each send's transaction open for a random 0..N ms after its rows are inserted, so concurrent sends
    /// overlap and would commit out of id order if the send-order lock did not serialize them.
    /// </summary>
    [Range(0, 10_000)]
    public int SendCommitDelayMs { get; set; }
}
