namespace Notifications.Domain;

/// <summary>Who may send to which audience.</summary>
public static class SendPolicy
{
    public static bool MaySend(Viewer sender, Audience audience) =>
        sender.IsAdmin || (sender.IsPublisher && !audience.TargetsRolesOrEveryone);

    public static void EnsureMaySend(Viewer sender, Audience audience)
    {
        if (MaySend(sender, audience))
        {
            return;
        }

        throw new ForbiddenException(sender.IsPublisher
            ? "Publishers may send to users and groups only; roles and everyone need the admin role."
            : "Sending notifications needs the admin or publisher role.");
    }

    /// <summary>An admin or the original sender may retract a notification.</summary>
    public static bool MayRetract(Viewer viewer, string senderId) =>
        viewer.IsAdmin || string.Equals(viewer.UserId, senderId, StringComparison.Ordinal);
}
