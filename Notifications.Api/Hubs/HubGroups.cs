namespace Notifications.Api.Hubs;

/// <summary>SignalR group names; prefixes keep a role and a group of the same name apart.</summary>
public static class HubGroups
{
    public static string Role(string role) => $"role:{role}";

    public static string Group(string group) => $"group:{group}";

    /// <summary>A stored group's name, not a role's.</summary>
    public static bool IsGroup(string name) => name.StartsWith("group:", StringComparison.Ordinal);
}
