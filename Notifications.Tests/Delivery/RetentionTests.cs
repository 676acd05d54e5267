using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notifications.Api.Inbox;
using Notifications.Api.Retention;
using Notifications.Api.Sending;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Inbox;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Holds or fails the database work of the runs a test marks (<see cref="RunAsync{T}"/>), and nothing else: the app's
/// own traffic passes untouched (a test may only watch it start: <see cref="AppCommandsStarted"/>,
/// <see cref="AppRetractionsSaving"/>), so it stays registered for the fixture's lifetime.
/// </summary>
public sealed class RetentionGate : IDbCommandInterceptor, IDbTransactionInterceptor, ISaveChangesInterceptor
{
    public const string InjectedFailure = "injected: the notifications delete of a retention batch failed";

    private static readonly AsyncLocal<Behaviour?> Marked = new();

    private readonly Lock watchesLock = new();
    private readonly List<Watch> watches = [];

    /// <summary>
    /// Completes once the app's own traffic has started <paramref name="count"/> commands whose text contains
    /// <paramref name="text"/>, counted from now. The command may still wait on a lock; what it read before has been read.
    /// </summary>
    public Task AppCommandsStarted(string text, int count) =>
        AddWatch(count, (command, _) => command?.CommandText.Contains(text, StringComparison.Ordinal) == true);

    /// <summary>
    /// Completes once the app has started saving <paramref name="count"/> retractions, counted from now: each has read
    /// its notification and begins the transaction that marks it (which may wait on a lock or SQLite's write lock).
    /// </summary>
    public Task AppRetractionsSaving(int count) =>
        AddWatch(count, (_, context) => context?.ChangeTracker.Entries<Notification>()
            .Any(e => e.State == EntityState.Modified && e.Entity.RetractedAt is not null) == true);

    private Task AddWatch(int count, Func<DbCommand?, DbContext?, bool> matches)
    {
        var watch = new Watch(count, matches);
        lock (watchesLock)
        {
            watches.Add(watch);
        }

        return watch.Done.Task;
    }

    private void NoteAppWork(DbCommand? command, DbContext? context)
    {
        if (Marked.Value is not null)
        {
            return;
        }

        lock (watchesLock)
        {
            watches.RemoveAll(w => w.Note(command, context));
        }
    }

    private sealed class Watch(int count, Func<DbCommand?, DbContext?, bool> matches)
    {
        private int left = count;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Counts a match; true when the watch is done.</summary>
        public bool Note(DbCommand? command, DbContext? context)
        {
            if (matches(command, context) && --left == 0)
            {
                Done.TrySetResult();
                return true;
            }

            return false;
        }
    }

    /// <summary>What a marked run meets: its first commit held until released, or its notifications delete failing.</summary>
    public sealed class Behaviour(bool holdFirstCommit, bool failNotificationsDelete)
    {
        private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int commits;

        public static Behaviour HoldFirstCommit() => new(holdFirstCommit: true, failNotificationsDelete: false);

        public static Behaviour FailNotificationsDelete() => new(holdFirstCommit: false, failNotificationsDelete: true);

        /// <summary>Completes when the run has done its first transaction's work and waits to commit it.</summary>
        public Task Reached => reached.Task;

        public void Release() => released.TrySetResult();

        internal async ValueTask BeforeCommitAsync(CancellationToken cancellationToken)
        {
            if (holdFirstCommit && Interlocked.Increment(ref commits) == 1)
            {
                reached.TrySetResult();
                await released.Task.WaitAsync(Timeouts.Default, cancellationToken);
            }
        }

        internal void BeforeCommand(DbCommand command)
        {
            if (failNotificationsDelete && command.CommandText.Contains("DELETE FROM \"Notifications\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(InjectedFailure);
            }
        }
    }

    /// <summary>Runs <paramref name="run"/> on its own flow, marked with <paramref name="behaviour"/>.</summary>
    public static Task<T> RunAsync<T>(Behaviour behaviour, Func<Task<T>> run) => Task.Run(() =>
    {
        Marked.Value = behaviour;
        return run();
    });

    public async ValueTask<InterceptionResult> TransactionCommittingAsync(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        if (Marked.Value is { } behaviour)
        {
            await behaviour.BeforeCommitAsync(cancellationToken);
        }

        return result;
    }

    public ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Marked.Value?.BeforeCommand(command);
        NoteAppWork(command, null);
        return ValueTask.FromResult(result);
    }

    public ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Marked.Value?.BeforeCommand(command);
        NoteAppWork(command, null);
        return ValueTask.FromResult(result);
    }

    public ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        NoteAppWork(null, eventData.Context);
        return ValueTask.FromResult(result);
    }
}

/// <summary>
/// The guarantees fixture (cleanup run by the tests only, batches of 10) with <see cref="RetentionGate"/> in the app's
/// DbContext, and a retention shorter than the idempotency window: a send ages out a day before its key does.
/// </summary>
public abstract class RetentionFixture : GuaranteesFixture
{
    public const int RetentionDays = 1;
    public const int KeyWindowHours = 48;

    public RetentionGate Gate { get; } = new();

    protected override Dictionary<string, string?> ExtraSettings()
    {
        var settings = base.ExtraSettings();
        settings["Retention:Days"] = RetentionDays.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Idempotency:WindowHours"] = KeyWindowHours.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return settings;
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        base.ConfigureServices(services);
        var gate = Gate;
        if (OnPostgres)
        {
            services.ConfigureDbContext<PostgresNotificationsDbContext>(o => o.AddInterceptors(gate));
        }
        else
        {
            services.ConfigureDbContext<SqliteNotificationsDbContext>(o => o.AddInterceptors(gate));
        }
    }
}

public sealed class SqliteRetentionFixture : RetentionFixture
{
    protected override bool OnPostgres => false;
}

public sealed class PostgresRetentionFixture : RetentionFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>
/// A retention batch is one transaction: it deletes all of its rows or none, and takes off the broadcast tallies exactly
/// the broadcasts it deleted itself, also while another instance's cleaner works on the same batch.
/// </summary>
public abstract class RetentionTests(RetentionFixture service)
{
    protected RetentionFixture Service => service;

    protected RetentionCleaner Cleaner => service.Services.GetRequiredService<RetentionCleaner>();

    [Fact]
    public async Task A_batch_that_fails_after_deleting_receipts_keeps_them_and_the_unread_count()
    {
        // Whatever earlier tests left ages out and goes first, so the batch that fails below holds this test's rows.
        service.Clock.Advance(TimeSpan.FromDays(91));
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup of earlier rows");

        var user = TestUsers.New("retention-atomic");
        using var http = service.LongClient(user);
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await service.SendAsAdminAsync(TestUsers.Notification($"aging {i}", user)).WithTimeout(what: "a send")).Id);
        }

        var broadcast = (await service.SendAsAdminAsync(new { type = "test.retention", title = "aging broadcast", audience = new { everyone = true } })
            .WithTimeout(what: "a broadcast")).Id;
        ids.Add(broadcast);
        using (var read = await http.PostAsJsonAsync("api/notifications/read", new { ids = new[] { ids[0], ids[1], broadcast } }).WithTimeout(what: "mark read"))
        {
            Assert.Equal(HttpStatusCode.NoContent, read.StatusCode);
        }

        using (var archived = await http.PostAsync($"api/notifications/{ids[2]}/archive", null).WithTimeout(what: "archive"))
        {
            Assert.Equal(HttpStatusCode.NoContent, archived.StatusCode);
        }

        var receipts = await ReceiptsAsync(ids);
        Assert.Equal(4, receipts);
        Assert.Equal(1, await UnreadCountAsync(http));
        service.Clock.Advance(TimeSpan.FromDays(91));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            RetentionGate.RunAsync(RetentionGate.Behaviour.FailNotificationsDelete(), () => Cleaner.RunOnceAsync(CancellationToken.None)))
            .WithTimeout(what: "the failing cleanup");
        Assert.Equal(RetentionGate.InjectedFailure, failure.Message);

        // Nothing of the failed batch is gone: the notifications are still listed, and still read or archived.
        Assert.Equal(receipts, await ReceiptsAsync(ids));
        Assert.Equal(ids.Count, await service.QueryAsync(db => db.Notifications.CountAsync(n => ids.Contains(n.Id))));
        Assert.Equal(1, await UnreadCountAsync(http));
        Assert.Equal([ids[3]], await UnreadIdsAsync(http));
        await BroadcastUnreadCountTests.AssertEveryTallyMatchesTheStoreAsync(service);

        // The next run deletes the whole batch.
        var result = await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup");
        Assert.Equal(ids.Count, result.AgedDeleted);
        Assert.Equal(0, await ReceiptsAsync(ids));
        Assert.False(await service.QueryAsync(db => db.Notifications.AnyAsync(n => ids.Contains(n.Id))));
        Assert.Equal(0, await UnreadCountAsync(http));
        await BroadcastUnreadCountTests.AssertEveryTallyMatchesTheStoreAsync(service);
    }

    [Fact]
    public async Task Read_all_steps_below_every_stored_notification_are_deleted_and_the_covering_ones_kept()
    {
        // Whatever earlier tests left ages out and goes first.
        service.Clock.Advance(TimeSpan.FromDays(91));
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup of earlier rows");

        var user = TestUsers.New("retention-steps");
        using var http = service.LongClient(user);
        var aging = await BroadcastAsync("aging");
        await ReadAllAsync(http);
        service.Clock.Advance(TimeSpan.FromDays(91));
        var fresh = await BroadcastAsync("fresh");
        await ReadAllAsync(http);
        Assert.Equal([aging, fresh], await StepsAsync(user));

        var result = await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup");

        Assert.Equal(1, result.ReadAllStepsDeleted);
        Assert.Equal([fresh], await StepsAsync(user));
        var stepTime = await service.QueryAsync(db => db.ReadAllSteps.Where(s => s.UserId == user).Select(s => s.ReadAt).SingleAsync());
        var kept = await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{fresh}").WithTimeout(what: "the fresh notification");
        Assert.Equal(stepTime, kept!.ReadAt);
        Assert.Equal(0, await UnreadCountAsync(http));
    }

    [Fact]
    public async Task A_retry_past_the_retention_age_but_within_the_key_window_is_replayed_and_the_send_goes_once_its_key_is_free()
    {
        // Whatever earlier tests left, keyed or not, ages out and goes first.
        service.Clock.Advance(TimeSpan.FromDays(91));
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup of earlier rows");

        var user = TestUsers.New("retention-key");
        using var http = service.LongClient(user);
        using var sender = service.LongClient("retention-sender", "admin");
        var toUser = new { type = "test.retention", title = $"keyed {Guid.NewGuid()}", audience = new { users = new[] { user } } };
        var toEveryone = new { type = "test.retention", title = $"keyed broadcast {Guid.NewGuid()}", audience = new { everyone = true } };
        var (userKey, everyoneKey) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var sentAt = service.Clock.GetUtcNow();
        var first = await SendWithKeyAsync(sender, toUser, userKey);
        var firstBroadcast = await SendWithKeyAsync(sender, toEveryone, everyoneKey);
        var unkeyed = (await service.SendAsAdminAsync(TestUsers.Notification("unkeyed", user)).WithTimeout(what: "a send without a key")).Id;
        Assert.False(first.Replayed || firstBroadcast.Replayed);
        long[] keyed = [first.Result.Id, firstBroadcast.Result.Id];

        // Past Retention:Days, within Idempotency:WindowHours: the keyed sends stay, the other one goes.
        service.Clock.Advance(TimeSpan.FromDays(RetentionFixture.RetentionDays) + TimeSpan.FromHours(6));
        var within = await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup within the key window");

        // A client retrying a send whose answer it never got learns the stored one, and nothing is sent twice.
        var retry = await SendWithKeyAsync(sender, toUser, userKey);
        var broadcastRetry = await SendWithKeyAsync(sender, toEveryone, everyoneKey);
        Assert.Equal((first.Result, true), (retry.Result, retry.Replayed));
        Assert.Equal((firstBroadcast.Result, true), (broadcastRetry.Result, broadcastRetry.Replayed));
        Assert.Equal((0, 1), (within.KeysCleared, within.AgedDeleted));
        Assert.Equal(keyed, await service.QueryAsync(db => db.Notifications.Where(n => keyed.Contains(n.Id) || n.Id == unkeyed).OrderBy(n => n.Id).Select(n => n.Id).ToListAsync()));
        Assert.Equal(1, await service.QueryAsync(db => db.Notifications.CountAsync(n => n.Title == toUser.title)));
        Assert.Equal(1, await service.QueryAsync(db => db.Notifications.CountAsync(n => n.Title == toEveryone.title)));
        Assert.Equal([firstBroadcast.Result.Id, first.Result.Id], await UnreadIdsAsync(http));
        Assert.Equal(2, await UnreadCountAsync(http));
        await BroadcastUnreadCountTests.AssertEveryTallyMatchesTheStoreAsync(service);

        // Once the window has passed, the run that frees the keys deletes the rows: retention still ends.
        service.Clock.Advance(sentAt.AddHours(RetentionFixture.KeyWindowHours + 1) - service.Clock.GetUtcNow());
        var after = await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup after the key window");
        Assert.Equal((2, 2), (after.KeysCleared, after.AgedDeleted));
        Assert.False(await service.QueryAsync(db => db.Notifications.AnyAsync(n => keyed.Contains(n.Id))));
        Assert.Empty(await UnreadIdsAsync(http));
        Assert.Equal(0, await UnreadCountAsync(http));
        await BroadcastUnreadCountTests.AssertEveryTallyMatchesTheStoreAsync(service);
    }

    [Fact]
    public async Task Reads_seens_archives_and_acks_racing_the_delete_of_their_notification_ignore_it_in_a_list_and_answer_404_for_it_alone()
    {
        var (user, gone, kept) = await OneAgedAndOneFreshNotificationAsync("retention-race-read");
        using var http = service.LongClient(user);

        // A connection runs one invocation at a time: one tab per hub call, so all three wait on the delete together.
        await using var ackTab = await service.LongConnectAsync(user);
        await using var seenTab = await service.LongConnectAsync(user);
        await using var readTab = await service.LongConnectAsync(user);
        var logsBefore = service.Logs.Entries.Count;

        // Retention has deleted the aged one and waits to commit; each write below has found it visible and then
        // runs into the delete (PostgreSQL: its row lock; SQLite: the write lock), which commits under it.
        var (cleanup, hold) = StartHeldCleanup();
        await hold.Reached.WithTimeout(what: "the cleanup to reach the commit of its batch");
        var upserts = service.Gate.AppCommandsStarted("INSERT INTO \"Receipts\"", 7);
        long[] both = [gone, kept];
        var list = PostStatusAsync(http, "api/notifications/read", new { ids = both });
        var singles = new[]
        {
            PostStatusAsync(http, $"api/notifications/{gone}/read"),
            PostStatusAsync(http, $"api/notifications/{gone}/seen"),
            PostStatusAsync(http, $"api/notifications/{gone}/archive"),
        };
        var hubCalls = new[] { ackTab.InvokeAsync("Ack", both), seenTab.InvokeAsync("MarkSeen", both), readTab.InvokeAsync("MarkRead", both) };
        try
        {
            await upserts.WithTimeout(what: "every write to reach its receipt upsert");
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal(1, (await cleanup.WithTimeout(what: "the held cleanup")).AgedDeleted);
        Assert.Equal(HttpStatusCode.NoContent, await list.WithTimeout(what: "the list read"));
        Assert.All(await Task.WhenAll(singles).WithTimeout(what: "the single-id writes"), s => Assert.Equal(HttpStatusCode.NotFound, s));
        await Task.WhenAll(hubCalls).WithTimeout(what: "the hub acks and reads");

        // The ids that were still there are marked, and only they are pushed as read.
        var receipt = Assert.Single(await service.QueryAsync(db => db.Receipts.Where(r => r.UserId == user).ToListAsync()));
        Assert.Equal(kept, receipt.NotificationId);
        Assert.NotNull(receipt.DeliveredAt);
        Assert.NotNull(receipt.SeenAt);
        Assert.NotNull(receipt.ReadAt);
        Assert.Null(receipt.ArchivedAt);
        Assert.Equal([kept], await ackTab.NextReadAsync());
        Assert.Equal([kept], await ackTab.NextReadAsync());
        Assert.Equal(0, await UnreadCountAsync(http));
        AssertNothingWentWrongSince(logsBefore);
    }

    [Fact]
    public async Task A_retraction_racing_the_delete_of_its_notification_answers_404_and_pushes_nothing()
    {
        var (user, gone, kept) = await OneAgedAndOneFreshNotificationAsync("retention-race-retract");
        using var admin = service.LongClient("admin-delivery", "admin");
        await using var hub = await service.LongConnectAsync(user);
        var logsBefore = service.Logs.Entries.Count;

        var (cleanup, hold) = StartHeldCleanup();
        await hold.Reached.WithTimeout(what: "the cleanup to reach the commit of its batch");
        var saving = service.Gate.AppRetractionsSaving(1);
        var retraction = DeleteStatusAsync(admin, $"api/notifications/{gone}");
        try
        {
            await saving.WithTimeout(what: "the retraction to read its notification and start saving");
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal(1, (await cleanup.WithTimeout(what: "the held cleanup")).AgedDeleted);
        Assert.Equal(HttpStatusCode.NotFound, await retraction.WithTimeout(what: "the retraction"));
        Assert.False(await service.QueryAsync(db => db.Outbox.AnyAsync(o => o.NotificationId == gone)));

        // The retraction of the one still there is pushed, and is the first retraction the user hears of.
        Assert.Equal(HttpStatusCode.NoContent, await DeleteStatusAsync(admin, $"api/notifications/{kept}").WithTimeout(what: "a retraction"));
        Assert.Equal(kept, await hub.NextRetractionAsync());
        AssertNothingWentWrongSince(logsBefore);
    }

    /// <summary>A user with one notification a day past Retention:Days and one sent just now, nothing else to clean up.</summary>
    private async Task<(string User, long Aged, long Fresh)> OneAgedAndOneFreshNotificationAsync(string prefix)
    {
        // Whatever earlier tests left ages out and goes first, so the held batch below holds the aged one alone.
        service.Clock.Advance(TimeSpan.FromDays(91));
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup of earlier rows");
        var user = TestUsers.New(prefix);
        var aged = (await service.SendAsAdminAsync(TestUsers.Notification("aging", user)).WithTimeout(what: "a send")).Id;
        service.Clock.Advance(TimeSpan.FromDays(RetentionFixture.RetentionDays + 1));
        var fresh = (await service.SendAsAdminAsync(TestUsers.Notification("fresh", user)).WithTimeout(what: "a send")).Id;
        return (user, aged, fresh);
    }

    private (Task<RetentionResult> Run, RetentionGate.Behaviour Hold) StartHeldCleanup()
    {
        var hold = RetentionGate.Behaviour.HoldFirstCommit();
        var cleaner = Cleaner;
        return (RetentionGate.RunAsync(hold, () => cleaner.RunOnceAsync(CancellationToken.None)), hold);
    }

    private void AssertNothingWentWrongSince(int logsBefore)
    {
        // Warnings without an exception are allowed: a loaded machine makes Kestrel warn about its heartbeat. EF Core
        // logs each failed command and save itself, the one that met the delete too (as it does for a duplicate group
        // name that becomes a 409); what must not appear is a request or hub call that failed (a 500, a hub error).
        string[] efCoreOwn = [DbLoggerCategory.Database.Command.Name, DbLoggerCategory.Update.Name];
        var troubles = service.Logs.Entries.Skip(logsBefore)
            .Where(e => (e.Exception is not null || e.Level >= LogLevel.Error) && !efCoreOwn.Contains(e.Category))
            .ToList();
        Assert.True(troubles.Count == 0, string.Join('\n', troubles.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));
    }

    private static async Task<HttpStatusCode> PostStatusAsync(HttpClient http, string path, object? body = null)
    {
        using var response = body is null ? await http.PostAsync(path, null) : await http.PostAsJsonAsync(path, body);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> DeleteStatusAsync(HttpClient http, string path)
    {
        using var response = await http.DeleteAsync(path);
        return response.StatusCode;
    }

    private static async Task<(SendResult Result, bool Replayed)> SendWithKeyAsync(HttpClient sender, object body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/notifications") { Content = JsonContent.Create(body) };
        request.Headers.Add(SendEndpoints.IdempotencyKeyHeader, key);
        using var response = await sender.SendAsync(request).WithTimeout(what: "a send with an Idempotency-Key");
        var text = await response.Content.ReadAsStringAsync().WithTimeout(what: "the send's response body");
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"The send failed with {(int)response.StatusCode}: {text}");
        var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Single() == "true";
        return (JsonSerializer.Deserialize<SendResult>(text, DeliveryFixture.Json)!, replayed);
    }

    private static async Task ReadAllAsync(HttpClient http)
    {
        using var response = await http.PostAsync("api/notifications/read-all", null).WithTimeout(what: "read-all");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private Task<List<long>> StepsAsync(string user) =>
        service.QueryAsync(db => db.ReadAllSteps.Where(s => s.UserId == user).OrderBy(s => s.UpToId).Select(s => s.UpToId).ToListAsync());

    protected async Task<long> BroadcastAsync(string title, DateTimeOffset? expiresAt = null) =>
        (await service.SendAsAdminAsync(new { type = "test.retention", title, expiresAt, audience = new { everyone = true } }).WithTimeout(what: "a broadcast")).Id;

    protected Task<int> ReceiptsAsync(IReadOnlyCollection<long> ids) =>
        service.QueryAsync(db => db.Receipts.CountAsync(r => ids.Contains(r.NotificationId)));

    protected static async Task<int> UnreadCountAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count;

    protected static async Task<List<long>> UnreadIdsAsync(HttpClient http) =>
        [.. (await http.GetFromJsonAsync<InboxPage>("api/notifications?status=unread&limit=100").WithTimeout(what: "the unread inbox"))!.Items.Select(n => n.Id)];
}

public sealed class SqliteRetentionTests(SqliteRetentionFixture service) : RetentionTests(service), IClassFixture<SqliteRetentionFixture>;

/// <summary>
/// PostgreSQL readers do not wait for writers, so two instances' cleaners can pick the same batch at once (SQLite's
/// one writer cannot). The interleaving is made, not hoped for: cleaner A is held just before it commits its batch,
/// cleaner B runs into A's locks, and only then does A commit.
/// </summary>
public sealed class PostgresRetentionTests(PostgresRetentionFixture fixture) : RetentionTests(fixture), IClassFixture<PostgresRetentionFixture>
{
    [Fact]
    public async Task Two_cleaners_on_the_same_expired_broadcasts_take_each_off_its_tally_once()
    {
        // Whatever earlier tests left that is due goes first, so the two cleaners below meet this test's batch only.
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup of earlier rows");

        var reader = TestUsers.New("retention-reader");
        using var http = Service.LongClient(reader);
        var expiresAt = Service.Clock.GetUtcNow().AddHours(1);
        await BroadcastAsync("lasting 1");
        var expiring = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            expiring.Add(await BroadcastAsync($"expiring {i}", expiresAt));
        }

        await BroadcastAsync("lasting 2");
        Service.Clock.Advance(TimeSpan.FromHours(2));
        var cleaner = Cleaner;

        // A is one instance's run, B another's: one service, two runs at once is the same race.
        var hold = RetentionGate.Behaviour.HoldFirstCommit();
        var runA = RetentionGate.RunAsync(hold, () => cleaner.RunOnceAsync(CancellationToken.None));
        await hold.Reached.WithTimeout(what: "cleaner A to reach the commit of its batch");
        var runB = Task.Run(() => cleaner.RunOnceAsync(CancellationToken.None));
        bool bWaited;
        try
        {
            await Timeouts.Eventually(async () => runB.IsCompleted || await SomeoneWaitsOnALockAsync(), "cleaner B waits on cleaner A's locks");
            bWaited = !runB.IsCompleted;
        }
        finally
        {
            hold.Release();
        }

        var a = await runA.WithTimeout(what: "cleaner A");
        var b = await runB.WithTimeout(what: "cleaner B");

        // B read the batch while A had deleted it but not committed: the race this test is about.
        Assert.True(bWaited, "cleaner B should have met cleaner A's uncommitted batch");
        Assert.Equal((expiring.Count, 0), (a.ExpiredDeleted, b.ExpiredDeleted));
        Assert.False(await Service.QueryAsync(db => db.Notifications.AnyAsync(n => expiring.Contains(n.Id))));
        await BroadcastUnreadCountTests.AssertEveryTallyMatchesTheStoreAsync(Service);
        var synced = (await http.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0").WithTimeout(what: "a sync"))!;
        Assert.False(synced.HasMore);
        Assert.Equal(synced.Items.Count, await UnreadCountAsync(http));
    }

    private Task<bool> SomeoneWaitsOnALockAsync() => Service.QueryAsync(async db =>
        await db.Database.SqlQueryRaw<int>(
            """SELECT count(*)::int AS "Value" FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'""")
            .SingleAsync() > 0);
}
