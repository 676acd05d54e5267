namespace Notifications.Domain;

/// <summary>Who a notification is addressed to. A user sees it when any part matches.</summary>
public sealed record Audience
{
    public const int MaxEntries = 1000;

    public Audience(IEnumerable<string>? users = null, IEnumerable<string>? roles = null, IEnumerable<string>? groups = null, bool everyone = false)
    {
        Users = Normalize(users);
        Roles = Normalize(roles);
        Groups = Normalize(groups);
        Everyone = everyone;
        if (!Everyone && Users.Count == 0 && Roles.Count == 0 && Groups.Count == 0)
        {
            throw new DomainException("The audience must name at least one user, role or group, or everyone.");
        }

        if (Users.Count + Roles.Count + Groups.Count > MaxEntries)
        {
            throw new DomainException($"The audience may list at most {MaxEntries} users, roles and groups together.");
        }
    }

    public IReadOnlyList<string> Users { get; }

    public IReadOnlyList<string> Roles { get; }

    public IReadOnlyList<string> Groups { get; }

    public bool Everyone { get; }

    public bool TargetsRolesOrEveryone => Everyone || Roles.Count > 0;

    // A record would compare the lists by reference. Each part is a set (entries are distinct after Normalize),
    // so two audiences naming the same entries, in any order, are equal.
    public bool Equals(Audience? other) =>
        other is not null
        && Everyone == other.Everyone
        && SameEntries(Users, other.Users)
        && SameEntries(Roles, other.Roles)
        && SameEntries(Groups, other.Groups);

    public override int GetHashCode() =>
        HashCode.Combine(Everyone, EntriesHash(Users), EntriesHash(Roles), EntriesHash(Groups));

    private static bool SameEntries(IReadOnlyList<string> left, IReadOnlyList<string> right) =>
        left.Count == right.Count && left.ToHashSet(StringComparer.Ordinal).SetEquals(right);

    // Order-independent, like the comparison.
    private static int EntriesHash(IReadOnlyList<string> entries) =>
        entries.Aggregate(entries.Count, (hash, entry) => hash ^ StringComparer.Ordinal.GetHashCode(entry));

    private static string[] Normalize(IEnumerable<string>? values) =>
        values is null ? [] : values.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v.Trim()).Distinct(StringComparer.Ordinal).ToArray();
}
