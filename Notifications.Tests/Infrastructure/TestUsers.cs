namespace Notifications.Tests.Infrastructure;

/// <summary>
/// Users of a test's own. Fixtures share one service and one database between tests, and limits are per user: a user
/// no other test uses keeps a test from seeing, or using up, what another test did.
/// </summary>
public static class TestUsers
{
    /// <summary>A user id unique to this run, starting with <paramref name="name"/> (readable in a failure message).</summary>
    public static string New(string name, int length = 20) => $"{name}-{Guid.NewGuid():N}"[..length];

    /// <summary>The smallest send request: a title, addressed to the given users.</summary>
    public static object Notification(string title, params string[] users) => new { type = "test.user", title, audience = new { users } };
}
