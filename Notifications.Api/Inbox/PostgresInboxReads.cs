using System.Data;
using Notifications.Domain;
using Notifications.Infrastructure.Data;
using Npgsql;
using NpgsqlTypes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Notifications.Api.Inbox;

/// <summary>
/// The inbox page, sync page and unread count on PostgreSQL, a page in one round trip and the count in two (its
/// batch, then the commit of its snapshot's transaction). The read-all watermark and steps and the reader's group
/// memberships are read inside the statements (roles through <c>unnest</c>, groups through a lateral join on
/// <c>GroupMembers</c>), so their text is fixed for any audience and Npgsql prepares them once per connection. The same rules as <see cref="InboxQueries"/>' LINQ, which other providers run; the inbox tests run
/// both. EF Core is bypassed here because building, caching and materializing the LINQ query cost more than the
/// SQL itself at this size.
/// </summary>
internal static class PostgresInboxReads
{
    // One page statement per (direction, unread only, archived included); all parameters are positional:
    // $1 user, $2 roles, $3 now, $4 ids above, $5 ids below, $6 rows per part and page.
    private static readonly string[] PageStatements = [.. Enumerable.Range(0, 8).Select(v => PageSql((v & 1) != 0, (v & 2) != 0, (v & 4) != 0))];

    private const string TargetedLive = """NOT n."Everyone" AND n."RetractedAt" IS NULL AND (n."ExpiresAt" IS NULL OR n."ExpiresAt" > $3)""";

    private static readonly string UnreadBroadcastsSql =
        $"""
        WITH w AS (SELECT COALESCE(MAX(w."UpToId"), 0) AS up FROM "ReadWatermarks" AS w WHERE w."UserId" = $1)
        SELECT
            COALESCE((SELECT SUM(b."Count") FROM "BroadcastBuckets" AS b WHERE b."Bucket" > (SELECT up FROM w) / {BroadcastBucket.IdsPerBucket}), 0)::bigint
            + (SELECT COUNT(*) FROM "Notifications" AS n
               WHERE n."Everyone" AND n."Id" > (SELECT up FROM w) AND n."Id" < ((SELECT up FROM w) / {BroadcastBucket.IdsPerBucket} + 1) * {BroadcastBucket.IdsPerBucket})
            - (SELECT COUNT(*) FROM "Notifications" AS n WHERE n."Everyone" AND n."RetractedAt" IS NOT NULL AND n."Id" > (SELECT up FROM w))
            - (SELECT COUNT(*) FROM "Notifications" AS n
               WHERE n."ExpiresAt" <= $3 AND n."Everyone" AND n."RetractedAt" IS NULL AND n."Id" > (SELECT up FROM w))
            - (SELECT COUNT(*) FROM "Receipts" AS r JOIN "Notifications" AS n ON n."Id" = r."NotificationId"
               WHERE r."UserId" = $1 AND (r."ReadAt" IS NOT NULL OR r."ArchivedAt" IS NOT NULL)
                 AND n."Everyone" AND n."Id" > (SELECT up FROM w) AND n."RetractedAt" IS NULL AND (n."ExpiresAt" IS NULL OR n."ExpiresAt" > $3))
        """;

    private static readonly string UnreadTargetedSql =
        $"""
        WITH w AS (SELECT COALESCE(MAX(w."UpToId"), 0) AS up FROM "ReadWatermarks" AS w WHERE w."UserId" = $1)
        SELECT (SELECT COUNT(*) FROM (
                   SELECT a."NotificationId" AS id FROM "NotificationAudience" AS a JOIN "Notifications" AS n ON n."Id" = a."NotificationId"
                   WHERE a."Kind" = {(int)AudienceKind.User} AND a."Value" = $1 AND a."NotificationId" > (SELECT up FROM w) AND {TargetedLive}
                   UNION
                   SELECT a."NotificationId" FROM "NotificationAudience" AS a JOIN "Notifications" AS n ON n."Id" = a."NotificationId"
                   WHERE a."Kind" = {(int)AudienceKind.Role} AND a."Value" = ANY ($2) AND a."NotificationId" > (SELECT up FROM w) AND {TargetedLive}
                   UNION
                   SELECT a."NotificationId" FROM "GroupMembers" AS m
                   JOIN "NotificationAudience" AS a ON a."Kind" = {(int)AudienceKind.Group} AND a."Value" = m."GroupName" AND a."NotificationId" > (SELECT up FROM w)
                   JOIN "Notifications" AS n ON n."Id" = a."NotificationId"
                   WHERE m."UserId" = $1 AND n."CreatedAt" >= m."JoinedAt" AND {TargetedLive}) AS t
               WHERE NOT EXISTS (SELECT 1 FROM "Receipts" AS r
                                 WHERE r."UserId" = $1 AND r."NotificationId" = t.id AND (r."ReadAt" IS NOT NULL OR r."ArchivedAt" IS NOT NULL)))
        """;

    /// <summary>
    /// Up to <paramref name="count"/> notifications the viewer may see with ids strictly between
    /// <paramref name="above"/> (raised to the read-all watermark when <paramref name="unreadOnly"/>) and
    /// <paramref name="below"/>, in id order, with their read state resolved.
    /// </summary>
    public static async Task<List<NotificationDto>> PageAsync(
        NotificationsDbContext db, Viewer viewer, DateTime now, long above, long below, bool newestFirst, bool unreadOnly, bool includeArchived,
        int count, CancellationToken cancellationToken)
    {
        var sql = PageStatements[(newestFirst ? 1 : 0) | (unreadOnly ? 2 : 0) | (includeArchived ? 4 : 0)];
        var page = new List<NotificationDto>(count);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = Command(db, sql, viewer, now);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = above });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = below });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetInt64(0);
                var state = ReadState.Resolve(
                    DateOrNull(reader, 12),
                    DateOrNull(reader, 9),
                    DateOrNull(reader, 10),
                    DateOrNull(reader, 11));
                page.Add(new NotificationDto(
                    id,
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    NotificationDto.ParseData(reader.IsDBNull(4) ? null : reader.GetString(4)),
                    ((Priority)reader.GetInt16(5)).ToName(),
                    reader.GetString(6),
                    reader.GetDateTime(7),
                    DateOrNull(reader, 8),
                    state.ReadAt,
                    state.SeenAt,
                    state.ArchivedAt));
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        return page;
    }

    /// <summary>
    /// Live broadcasts after the watermark that the reader has not read or archived (see
    /// <see cref="InboxQueries.UnreadCountAsync"/>), plus the role, group and personal ones, counted in one snapshot.
    /// </summary>
    public static async Task<int> UnreadCountAsync(NotificationsDbContext db, Viewer viewer, DateTime now, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            var outer = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();

            // Both statements in one snapshot (Npgsql sends the BEGIN with the batch, so only the commit is another trip).
            await using var own = outer is null ? await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken) : null;
            await using var batch = new NpgsqlBatch(connection, outer ?? own);
            batch.BatchCommands.Add(BatchCommand(UnreadBroadcastsSql, viewer, now));
            if (own is not null)
            {
                // PostgreSQL would plan the addressed count for every reader (1.5 ms, three times its run time): its
                // generic plan is costed for the largest group, while the reader's own rows are few. That plan is
                // index ranges whatever the reader, so it is forced here, for this transaction only. The broadcast
                // count stays custom: a generic plan cannot know how few notifications have expired.
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"));
            }

            batch.BatchCommands.Add(BatchCommand(UnreadTargetedSql, viewer, now));
            long count = 0;
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            {
                for (var result = 0; result < batch.BatchCommands.Count; result++)
                {
                    if (result > 0)
                    {
                        await reader.NextResultAsync(cancellationToken);
                    }

                    // The set_config row is text; the two counts are bigint.
                    if (await reader.ReadAsync(cancellationToken) && reader.GetFieldType(0) == typeof(long))
                    {
                        count += reader.GetInt64(0);
                    }
                }
            }

            if (own is not null)
            {
                await own.CommitAsync(cancellationToken);
            }

            return checked((int)count);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>A command with the parameters every statement here shares: $1 user, $2 roles, $3 now.</summary>
    private static NpgsqlCommand Command(NotificationsDbContext db, string sql, Viewer viewer, DateTime now)
    {
        var command = new NpgsqlCommand(sql, (NpgsqlConnection)db.Database.GetDbConnection())
        {
            Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction(),
        };
        if (db.Database.GetCommandTimeout() is { } timeout)
        {
            command.CommandTimeout = timeout;
        }

        AddShared(command.Parameters, viewer, now);
        return command;
    }

    private static NpgsqlBatchCommand BatchCommand(string sql, Viewer viewer, DateTime now)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddShared(command.Parameters, viewer, now);
        return command;
    }

    private static void AddShared(NpgsqlParameterCollection parameters, Viewer viewer, DateTime now)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = viewer.UserId, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. viewer.Roles], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
    }

    private static DateTime? DateOrNull(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDateTime(ordinal);

    /// <summary>
    /// When read-all first covered row <c>p.id</c> (<see cref="ReadAllHistory.ReadAtOf"/>): the reader's first step at
    /// or above it, one probe of the steps' key, made only for rows the watermark <c>w</c> covers.
    /// </summary>
    private const string ReadAllAt = """
        CASE WHEN p.id <= w."UpToId" THEN (SELECT s."ReadAt" FROM "ReadAllSteps" AS s
                                           WHERE s."UserId" = $1 AND s."UpToId" >= p.id ORDER BY s."UpToId" LIMIT 1) END
        """;

    /// <summary>
    /// One index range per part of the audience, each cut at the page size, merged by id and cut again; then the
    /// page's rows with the reader's receipts and when read-all first covered each. See <see cref="InboxQueries"/> for why per part.
    /// </summary>
    private static string PageSql(bool newestFirst, bool unreadOnly, bool includeArchived)
    {
        var order = newestFirst ? "DESC" : "ASC";

        // Read-all marks everything up to the watermark read, so an unread page starts above it.
        var above = unreadOnly
            ? """GREATEST($4, (SELECT COALESCE(MAX(w."UpToId"), 0) FROM "ReadWatermarks" AS w WHERE w."UserId" = $1))"""
            : "$4";
        var hidden = (unreadOnly, includeArchived) switch
        {
            (false, true) => null,
            (false, false) => """x."ArchivedAt" IS NOT NULL""",
            (true, true) => """x."ReadAt" IS NOT NULL""",
            (true, false) => """(x."ArchivedAt" IS NOT NULL OR x."ReadAt" IS NOT NULL)""",
        };
        var candidate = """n."RetractedAt" IS NULL AND (n."ExpiresAt" IS NULL OR n."ExpiresAt" > $3)"""
            + (hidden is null ? string.Empty : $"""
                 AND NOT EXISTS (SELECT 1 FROM "Receipts" AS x WHERE x."UserId" = $1 AND x."NotificationId" = n."Id" AND {hidden})
                """);

        // The bounds go on the audience rows' own column, so each part is one range of (Kind, Value, NotificationId).
        string Addressed(AudienceKind kind, string value, string? extra = null) =>
            $"""
            SELECT a."NotificationId" AS id FROM "NotificationAudience" AS a JOIN "Notifications" AS n ON n."Id" = a."NotificationId"
            WHERE a."Kind" = {(int)kind} AND a."Value" = {value} AND a."NotificationId" > {above} AND a."NotificationId" < $5
              AND {candidate}{extra}
            ORDER BY a."NotificationId" {order} LIMIT $6
            """;

        return $"""
            SELECT n."Id", n."Type", n."Title", n."Body", n."Data", n."Priority", n."SenderId", n."CreatedAt", n."ExpiresAt",
                   r."ReadAt", r."SeenAt", r."ArchivedAt", {ReadAllAt}
            FROM (
                SELECT u.id FROM (
                    (SELECT n."Id" AS id FROM "Notifications" AS n
                     WHERE n."Everyone" AND n."Id" > {above} AND n."Id" < $5 AND {candidate}
                     ORDER BY n."Id" {order} LIMIT $6)
                    UNION
                    ({Addressed(AudienceKind.User, "$1")})
                    UNION
                    (SELECT p.id FROM unnest($2) AS role (name) CROSS JOIN LATERAL ({Addressed(AudienceKind.Role, "role.name")}) AS p)
                    UNION
                    (SELECT p.id FROM "GroupMembers" AS m CROSS JOIN LATERAL ({Addressed(AudienceKind.Group, "m.\"GroupName\"", " AND n.\"CreatedAt\" >= m.\"JoinedAt\"")}) AS p
                     WHERE m."UserId" = $1)
                ) AS u
                ORDER BY u.id {order} LIMIT $6
            ) AS p
            JOIN "Notifications" AS n ON n."Id" = p.id
            LEFT JOIN "Receipts" AS r ON r."UserId" = $1 AND r."NotificationId" = p.id
            LEFT JOIN "ReadWatermarks" AS w ON w."UserId" = $1
            ORDER BY p.id {order}
            """;
    }
}
