namespace Notifications.Domain;

/// <summary>
/// Who is asking: the user id and roles come from the validated token, never from the request body.
/// </summary>
public sealed record Viewer(string UserId, IReadOnlySet<string> Roles)
{
    public bool IsAdmin => Roles.Contains(Domain.Roles.Admin);

    public bool IsPublisher => Roles.Contains(Domain.Roles.Publisher);

    public static Viewer Of(string userId, params string[] roles) => new(userId, roles.ToHashSet(StringComparer.Ordinal));
}
