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

    public static bool MayListGroup(Viewer viewer, GroupKind kind, bool isMember) =>
        viewer.IsAdmin || kind == GroupKind.Open || isMember;

    public static bool MaySubscribe(GroupKind kind) => kind == GroupKind.Open;
}

/// <summary>A user's membership; the user sees group notifications created at or after <see cref="JoinedAt"/>.</summary>
public sealed record Membership(string Group, DateTime JoinedAt);
