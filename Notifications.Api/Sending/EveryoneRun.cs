using System.Runtime.InteropServices;
using Notifications.Api.Inbox;

namespace Notifications.Api.Sending;

/// <summary>Which consecutive pushes to everyone the dispatcher writes to each connection at once.</summary>
public static class EveryoneRun
{
    public const int MaxPushes = 32;

    /// <summary>
    /// Every connection's pipe takes a copy of the whole write, where separate pushes would wait behind a full pipe
    /// (SignalR's 64 KB): a burst of large notifications must not multiply that by <see cref="MaxPushes"/>.
    /// </summary>
    public const int MaxBytes = 16 * 1024;

    /// <summary>
    /// How many pushes to everyone follow one another from <paramref name="start"/>: at most <see cref="MaxPushes"/>, and
    /// about <see cref="MaxBytes"/> together unless the first alone is larger. 0 when the push at start is not to everyone.
    /// </summary>
    public static int Length(IReadOnlyList<PushWork> works, int start)
    {
        var end = start;
        var bytes = 0;
        while (end < works.Count && end - start < MaxPushes && works[end].Targets.Everyone)
        {
            bytes += EstimatedBytes(works[end].Notification);
            if (bytes > MaxBytes && end > start)
            {
                break;
            }

            end++;
        }

        return end - start;
    }

    /// <summary>Roughly what one push of <paramref name="notification"/> takes on the wire (UTF-16 counts, so ASCII-exact).</summary>
    public static int EstimatedBytes(NotificationDto notification) =>
        256 + notification.Type.Length + notification.Title.Length + (notification.Body?.Length ?? 0)
        + (notification.Data is { } data ? JsonMarshal.GetRawUtf8Value(data).Length : 0);
}
