namespace Notifications.Domain;

public enum Priority
{
    Low = 0,
    Normal = 1,
    High = 2,
    Critical = 3,
}

public static class Priorities
{
    public static readonly string[] Names = ["low", "normal", "high", "critical"];

    public static string ToName(this Priority priority) => Names[(int)priority];

    public static bool TryParse(string? name, out Priority priority)
    {
        var index = Array.IndexOf(Names, name ?? "normal");
        priority = index < 0 ? Priority.Normal : (Priority)index;
        return index >= 0;
    }
}
