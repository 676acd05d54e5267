namespace Notifications.Domain;

/// <summary>The sizes the contract fixes for a notification.</summary>
public static class NotificationLimits
{
    public const int MaxTypeLength = 100;
    public const int MaxTitleLength = 200;
    public const int MaxBodyLength = 4000;
    public const int MaxDataBytes = 16 * 1024;
    public const int MaxUserIdLength = 128;
    public const int MaxRoleLength = 64;
    public const int MaxIdempotencyKeyLength = 128;
    public const string TypePattern = "^[a-z0-9._-]{1,100}$";

    public const int InboxDefaultLimit = 20;
    public const int InboxMaxLimit = 100;
    public const int SyncDefaultLimit = 100;
    public const int SyncMaxLimit = 1000;

    /// <summary>
    /// A user id (a token's <c>sub</c>, a member to add): 1-128 characters, none of them a control character, and no white
    /// space at either end (SQL Server's <c>=</c> ignores trailing spaces, so <c>"alice "</c> would be <c>alice</c> there).
    /// </summary>
    public const string UserIdRule = "1-128 characters, without control characters or white space at either end";

    public static bool IsUserId(string? value) =>
        value is { Length: > 0 and <= MaxUserIdLength }
        && !value.Any(char.IsControl)
        && !char.IsWhiteSpace(value[0])
        && !char.IsWhiteSpace(value[^1]);

    public static int ClampInbox(int? limit) => Math.Clamp(limit ?? InboxDefaultLimit, 1, InboxMaxLimit);

    public static int ClampSync(int? limit) => Math.Clamp(limit ?? SyncDefaultLimit, 1, SyncMaxLimit);
}
