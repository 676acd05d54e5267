namespace Notifications.Domain;

public enum GroupKind
{
    /// <summary>Anyone may join or leave by themselves.</summary>
    Open = 0,

    /// <summary>Only admins manage the members.</summary>
    Restricted = 1,
}

public static class GroupRules
{
    public const int MaxNameLength = 64;

    /// <summary>What <see cref="IsValidName"/> accepts, in words for error messages.</summary>
    public const string NameRule = "A group name is 1-64 characters of letters, digits, '.', '_' and '-', and not '.' or '..'.";

    /// <remarks>"." and ".." are refused: a name is a path segment of <c>/api/groups/{name}/members/…</c>, and
    /// clients and Kestrel collapse those dot segments, so such a group could never be addressed.</remarks>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxNameLength && name is not ("." or "..")
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>Admins manage any group; anyone else only themselves, and only in open groups.</summary>
    public static bool MayChangeMembership(Viewer actor, GroupKind kind, string memberUserId) =>
        actor.IsAdmin || (kind == GroupKind.Open && string.Equals(actor.UserId, memberUserId, StringComparison.Ordinal));

    /// <summary>
    /// Whether the viewer may learn that the group exists: admins see every group, everyone sees open groups, and
    /// members see their restricted groups.
    /// </summary>
    /// <remarks>
    /// A viewer who may not see a group is answered everywhere as if it did not exist (<see cref="NotFound"/>), so
    /// "restricted" and "not found" cannot be told apart to probe for restricted group names.
    /// </remarks>
    public static bool MaySeeGroup(Viewer viewer, GroupKind kind, bool isMember) =>
        viewer.IsAdmin || kind == GroupKind.Open || isMember;

    public static bool MaySubscribe(GroupKind kind) => kind == GroupKind.Open;

    /// <summary>The one answer for a group that does not exist or that the caller may not see; it echoes only the name given.</summary>
    public static NotFoundException NotFound(string name) => new($"Group '{name}' was not found.");

    /// <summary>
    /// Refuses a membership change of <paramref name="memberUserId"/> in an existing group, in the order that keeps
    /// a group the actor may not see indistinguishable from a missing one: visibility comes before every other check
    /// (a missing group is refused before the user id is even looked at).
    /// </summary>
    /// <param name="name">The name as the caller gave it, echoed in the not-found answer as for a missing group.</param>
    /// <param name="actorIsMember">Whether the actor (not the member being changed) is a member of the group.</param>
    /// <param name="viaSubscribe">A hub Subscribe: open groups only, even for admins.</param>
    public static void EnsureMayChangeMembership(Viewer actor, string name, GroupKind kind, bool actorIsMember, string memberUserId, bool viaSubscribe)
    {
        if (!MaySeeGroup(actor, kind, actorIsMember))
        {
            throw NotFound(name);
        }

        if (viaSubscribe && !MaySubscribe(kind))
        {
            throw new ForbiddenException($"Group '{name}' is restricted: only an admin can add members.");
        }

        if (!NotificationLimits.IsUserId(memberUserId))
        {
            throw new DomainException($"A user id is {NotificationLimits.UserIdRule}.");
        }

        if (!MayChangeMembership(actor, kind, memberUserId))
        {
            throw new ForbiddenException(kind == GroupKind.Restricted
                ? $"Group '{name}' is restricted: only an admin can change its members."
                : $"In open group '{name}' users may only add or remove themselves.");
        }
    }
}

/// <summary>A user's membership; the user sees group notifications created at or after <see cref="JoinedAt"/>.</summary>
public sealed record Membership(string Group, DateTime JoinedAt);
