using Microsoft.AspNetCore.SignalR;

namespace Notifications.Api.Auth;

/// <summary>SignalR's user id is the token's <c>sub</c>, so <c>Clients.User</c> reaches every connection of that user.</summary>
public sealed class SubUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User.FindFirst(AuthSetup.UserIdClaim)?.Value;
}
