using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Notifications.Api.Auth;
using Notifications.Api.Hardening;
using Notifications.Api.OpenApi;
using Notifications.Domain;

namespace Notifications.Api.Sending;

public static class SendEndpoints
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static RouteGroupBuilder MapSendEndpoints(this RouteGroupBuilder notifications)
    {
        notifications.MapPost("/", SendAsync).DisableValidation().WithName("SendNotification").RequireRateLimiting(SendRateLimiting.SendsPolicy)
            .DeclaresValidationProblem("The body breaks a rule (type, title, body, data, priority, expiresAt, audience) or is not valid JSON, or the Idempotency-Key is malformed.")
            .DeclaresProblem(StatusCodes.Status403Forbidden, "The sender may not send to this audience: publishers send to users and groups only, and only admins and publishers send at all.")
            .DeclaresProblem(StatusCodes.Status404NotFound, "A group in the audience does not exist.")
            .DeclaresProblem(StatusCodes.Status409Conflict, "This Idempotency-Key was used by this sender with a different payload.");
        notifications.MapDelete("/{id:long}", RetractAsync)
            .DeclaresProblem(StatusCodes.Status403Forbidden, "The caller sees the notification but is neither an admin nor its sender.")
            .DeclaresProblem(StatusCodes.Status404NotFound, "No such notification, it is retracted already, or the caller may not see it.");
        return notifications;
    }

    private static async Task<Results<Created<SendResult>, ValidationProblem>> SendAsync(
        SendNotificationRequest request,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        ClaimsPrincipal user,
        NotificationSender sender,
        HttpContext http,
        TimeProvider time,
        CancellationToken ct)
    {
        // The body's rules are checked here, not by the validation filter (see SendRequestRules).
        Dictionary<string, string[]>? expired = null;
        if (SendRequestRules.Check(request, time.GetUtcNow().UtcDateTime) is { } errors)
        {
            // A retry of a send whose outcome it never learned (a 503) may come after a short expiresAt has passed;
            // it still gets the stored answer, or this 400 when there is none.
            if (idempotencyKey is null || !IsValidKey(idempotencyKey) || !SendRequestRules.OnlyExpiryHasPassed(errors))
            {
                return TypedResults.ValidationProblem(errors);
            }

            expired = errors;
        }

        if (idempotencyKey is not null && !IsValidKey(idempotencyKey))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [IdempotencyKeyHeader] = [$"{IdempotencyKeyHeader} must be 1-{NotificationLimits.MaxIdempotencyKeyLength} printable characters."],
            });
        }

        SendOutcome outcome;
        if (expired is null)
        {
            outcome = await sender.SendAsync(user.ToViewer(), request, idempotencyKey, ct);
        }
        else if (await sender.ReplayAsync(user.ToViewer(), request, idempotencyKey!, ct) is { } replay)
        {
            outcome = replay;
        }
        else
        {
            return TypedResults.ValidationProblem(expired);
        }

        if (outcome.Replayed)
        {
            http.Response.Headers["Idempotent-Replayed"] = "true";
        }

        return TypedResults.Created($"/api/notifications/{outcome.Result.Id}", outcome.Result);
    }

    private static bool IsValidKey(string key) =>
        key.Length is > 0 and <= NotificationLimits.MaxIdempotencyKeyLength && !key.Any(char.IsControl);

    private static async Task<NoContent> RetractAsync(long id, ClaimsPrincipal user, NotificationSender sender, CancellationToken ct)
    {
        await sender.RetractAsync(user.ToViewer(), id, ct);
        return TypedResults.NoContent();
    }
}
