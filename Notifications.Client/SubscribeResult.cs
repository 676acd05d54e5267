namespace Notifications.Client;

/// <summary>Result of <c>Subscribe(group)</c>: notifications created at or after <paramref name="JoinedAt"/> become visible.</summary>
public sealed record SubscribeResult(string Group, DateTimeOffset JoinedAt);
