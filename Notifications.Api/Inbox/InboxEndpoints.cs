using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Notifications.Api.Auth;
using Notifications.Api.OpenApi;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

public sealed record ReadManyRequest
{
    [Required]
    [MaxLength(ReadStateService.MaxIdsPerCall)]
    public long[]? Ids { get; init; }
}

public static class InboxEndpoints
{
    private const string NotVisible = "No such notification, or the caller may not see it.";

    public static RouteGroupBuilder MapInboxEndpoints(this RouteGroupBuilder notifications)
    {
        notifications.MapGet("/", PageAsync).DeclaresValidationProblem($"status is not 'unread' or 'all', limit is not 1-{NotificationLimits.InboxMaxLimit}, or a value does not parse.");
        notifications.MapGet("/sync", SyncAsync).DeclaresValidationProblem($"after is negative, limit is not 1-{NotificationLimits.SyncMaxLimit}, or a value does not parse.");
        notifications.MapGet("/unread-count", UnreadCountAsync);
        notifications.MapGet("/{id:long}", GetAsync).WithName("GetNotification").DeclaresProblem(StatusCodes.Status404NotFound, NotVisible);
        notifications.MapPost("/{id:long}/read", (long id, ClaimsPrincipal user, ReadStateService state, CancellationToken ct) => MarkOneAsync(id, user, state, ReceiptField.Read, ct))
            .DeclaresProblem(StatusCodes.Status404NotFound, NotVisible);
        notifications.MapPost("/{id:long}/seen", (long id, ClaimsPrincipal user, ReadStateService state, CancellationToken ct) => MarkOneAsync(id, user, state, ReceiptField.Seen, ct))
            .DeclaresProblem(StatusCodes.Status404NotFound, NotVisible);
        notifications.MapPost("/{id:long}/archive", (long id, ClaimsPrincipal user, ReadStateService state, CancellationToken ct) => MarkOneAsync(id, user, state, ReceiptField.Archived, ct))
            .DeclaresProblem(StatusCodes.Status404NotFound, NotVisible);
        notifications.MapPost("/read", ReadManyAsync).DeclaresValidationProblem($"ids is missing or lists more than {ReadStateService.MaxIdsPerCall}, or the body is not valid JSON.");
        notifications.MapPost("/read-all", ReadAllAsync);
        return notifications;
    }

    private static async Task<Results<Ok<InboxPage>, ValidationProblem>> PageAsync(
        ClaimsPrincipal user, InboxQueries inbox, CancellationToken ct, long? before = null, int? limit = null, string? status = null, bool includeArchived = false)
    {
        if (status is not (null or "unread" or "all"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = ["status must be 'unread' or 'all'."] });
        }

        if (limit is < 1 or > NotificationLimits.InboxMaxLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be 1-{NotificationLimits.InboxMaxLimit}."] });
        }

        return TypedResults.Ok(await inbox.PageAsync(user.ToViewer(), before, limit, status == "unread", includeArchived, ct));
    }

    private static async Task<Results<Ok<SyncPage>, ValidationProblem>> SyncAsync(ClaimsPrincipal user, InboxQueries inbox, CancellationToken ct, long after = 0, int? limit = null)
    {
        if (limit is < 1 or > NotificationLimits.SyncMaxLimit || after < 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [after < 0 ? "after" : "limit"] = [after < 0 ? "after must not be negative." : $"limit must be 1-{NotificationLimits.SyncMaxLimit}."],
            });
        }

        return TypedResults.Ok(await inbox.SyncAsync(user.ToViewer(), after, limit, ct));
    }

    private static async Task<Ok<UnreadCount>> UnreadCountAsync(ClaimsPrincipal user, InboxQueries inbox, CancellationToken ct) =>
        TypedResults.Ok(new UnreadCount(await inbox.UnreadCountAsync(user.ToViewer(), ct)));

    private static async Task<Results<Ok<NotificationDto>, NotFound>> GetAsync(long id, ClaimsPrincipal user, InboxQueries inbox, CancellationToken ct) =>
        await inbox.FindAsync(user.ToViewer(), id, ct) is { } notification ? TypedResults.Ok(notification) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> MarkOneAsync(long id, ClaimsPrincipal user, ReadStateService state, ReceiptField field, CancellationToken ct) =>
        await state.MarkOneAsync(user.ToViewer(), id, field, ct) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<NoContent> ReadManyAsync(ReadManyRequest request, ClaimsPrincipal user, ReadStateService state, CancellationToken ct)
    {
        await state.MarkAsync(user.ToViewer(), request.Ids!, ReceiptField.Read, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> ReadAllAsync(ClaimsPrincipal user, ReadStateService state, CancellationToken ct)
    {
        await state.MarkAllReadAsync(user.ToViewer(), ct);
        return TypedResults.NoContent();
    }
}
