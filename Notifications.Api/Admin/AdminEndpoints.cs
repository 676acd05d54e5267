using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Inbox;
using Notifications.Api.OpenApi;
using Notifications.Domain;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Admin;

public sealed record FunnelStats(int Delivered, int Seen, int Read);

public sealed record SentNotificationDto(
    long Id, string Type, string Title, string? Body, string Priority, string SenderId, DateTime CreatedAt, DateTime? ExpiresAt,
    DateTime? RetractedAt, AudienceSummary Audience, FunnelStats Stats);

public sealed record AudienceSummary(IReadOnlyList<string> Users, IReadOnlyList<string> Roles, IReadOnlyList<string> Groups, bool Everyone);

public sealed record SentPage(IReadOnlyList<SentNotificationDto> Items, bool HasMore, long? NextBefore);

/// <param name="Partial">
/// True when the other instances' reports could not be read (Redis unreachable): the numbers are then this instance's
/// own, not the cluster's.
/// </param>
public sealed record ClusterStats(int Connections, int ConnectedUsers, int Instances, int SentLastHour, bool Partial);

public static class AdminEndpoints
{
    public static RouteGroupBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/admin").RequireAuthorization(policy => policy.RequireRole(Roles.Admin)).WithTags("Admin")
            .DeclaresApiProblems()
            .DeclaresProblem(StatusCodes.Status403Forbidden, "The admin endpoints need the admin role.");
        admin.MapGet("/notifications", SentAsync).DeclaresValidationProblem($"limit is not 1-{NotificationLimits.InboxMaxLimit}, or a value does not parse.");
        admin.MapGet("/stats", StatsAsync);
        return admin;
    }

    private static async Task<Results<Ok<SentPage>, ValidationProblem>> SentAsync(NotificationsDbContext db, CancellationToken ct, long? before = null, int? limit = null)
    {
        if (limit is < 1 or > NotificationLimits.InboxMaxLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be 1-{NotificationLimits.InboxMaxLimit}."] });
        }

        var take = NotificationLimits.ClampInbox(limit);
        var query = db.Notifications.AsNoTracking();
        if (before is { } b)
        {
            query = query.Where(n => n.Id < b);
        }

        var page = await query.OrderByDescending(n => n.Id).Take(take + 1)
            .Select(n => new
            {
                Notification = n,
                Audience = n.Audience.ToList(),

                // Read implies seen implies delivered: each stage counts the users who got at least that far.
                Delivered = db.Receipts.Count(r => r.NotificationId == n.Id && (r.DeliveredAt != null || r.SeenAt != null || r.ReadAt != null)),
                Seen = db.Receipts.Count(r => r.NotificationId == n.Id && (r.SeenAt != null || r.ReadAt != null)),
                Read = db.Receipts.Count(r => r.NotificationId == n.Id && r.ReadAt != null),
            })
            .ToListAsync(ct);
        var items = page.Take(take).Select(x =>
        {
            var n = x.Notification;
            var audience = new AudienceSummary(
                [.. x.Audience.Where(a => a.Kind == AudienceKind.User).Select(a => a.Value)],
                [.. x.Audience.Where(a => a.Kind == AudienceKind.Role).Select(a => a.Value)],
                [.. x.Audience.Where(a => a.Kind == AudienceKind.Group).Select(a => a.Value)],
                n.Everyone);
            return new SentNotificationDto(n.Id, n.Type, n.Title, n.Body, n.Priority.ToName(), n.SenderId, n.CreatedAt, n.ExpiresAt, n.RetractedAt, audience, new FunnelStats(x.Delivered, x.Seen, x.Read));
        }).ToList();
        var hasMore = page.Count > take;
        return TypedResults.Ok(new SentPage(items, hasMore, hasMore ? items[^1].Id : null));
    }

    private static async Task<Ok<ClusterStats>> StatsAsync(
        NotificationsDbContext db, IClusterBus bus, Hubs.ConnectionRegistry registry, Infrastructure.InstanceIdentity instance, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var since = time.GetUtcNow().UtcDateTime.AddHours(-1);
        var sent = await db.Notifications.CountAsync(n => n.CreatedAt >= since, ct);
        IReadOnlyList<InstanceReport> reports;
        var partial = false;
        try
        {
            reports = await bus.GetReportsAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The dashboard keeps showing numbers through a Redis outage, marked as this instance's only.
            loggers.CreateLogger(typeof(AdminEndpoints)).LogWarning("The other instances' reports are unavailable ({Error}); the stats are this instance's", ex.GetType().Name);
            reports = [];
            partial = true;
        }

        // This instance's own numbers are always current; the others' come from their latest report.
        var others = reports.Where(r => r.InstanceId != instance.Id).ToList();
        var users = others.SelectMany(r => r.UserIds).Concat(registry.UserIds).Distinct(StringComparer.Ordinal).Count();
        return TypedResults.Ok(new ClusterStats(registry.Connections + others.Sum(r => r.Connections), users, others.Count + 1, sent, partial));
    }
}
