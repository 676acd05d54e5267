namespace Notifications.Client;

/// <summary>Payload of the server's <c>AllRead</c> push: everything with id ≤ <paramref name="UpToId"/> is read.</summary>
public sealed record AllReadPayload(long UpToId);
