namespace Notifications.Domain;

/// <summary>Who sees what. The database queries mirror this rule; the tests pin both.</summary>
public static class Visibility
{
    public static bool Sees(Viewer viewer, IReadOnlyCollection<Membership> memberships, Audience audience, DateTime createdAt) =>
        audience.Everyone
        || audience.Users.Contains(viewer.UserId, StringComparer.Ordinal)
        || audience.Roles.Any(viewer.Roles.Contains)
        || memberships.Any(m => m.JoinedAt <= createdAt && audience.Groups.Contains(m.Group, StringComparer.Ordinal));

    /// <summary>Retracted and expired notifications are hidden from every inbox, sync and count.</summary>
    public static bool IsLive(DateTime? retractedAt, DateTime? expiresAt, DateTime now) =>
        retractedAt is null && (expiresAt is null || expiresAt > now);
}
