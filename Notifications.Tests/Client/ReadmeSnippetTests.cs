using System.Net.Http.Json;
using System.Threading.Channels;
using Notifications.Api.Inbox;
using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>The usage snippet of Notifications.Client/README.md, kept identical to the copy here and run for real.</summary>
public sealed class ReadmeSnippetTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private const string Begin = "// README snippet begins";
    private const string End = "// README snippet ends";

    [Fact]
    public async Task Readme_usage_snippet_catches_up_marks_read_and_saves_the_cursor()
    {
        var user = TestUsers.New("reader");
        var older = await service.SendAsync("admin-1", new { type = "readme.demo", title = "older", audience = new { users = new[] { user } } });
        var newer = await service.SendAsync("admin-1", new { type = "readme.demo", title = "newer", audience = new { users = new[] { user } } });
        var serviceUrl = service.BaseUri;
        var tokens = new AppTokens(user);
        var store = new CursorStore();
        var inbox = new Inbox();
        var ui = new Badge();

        async Task RunSnippetAsync()
        {
            // README snippet begins
            await using var client = new NotificationsClient(new NotificationsClientOptions(
                serviceUrl,                                          // e.g. https://notify.example.com; the hub path is appended
                ct => tokens.GetAccessTokenAsync(ct))                // asked on every (re)connect: return a fresh token
            { InitialCursor = store.LoadCursor() });                 // highest id already processed; 0 = the whole inbox
            client.NotificationReceived += n => inbox.AddAsync(n);   // once per id, live or caught up
            client.Retracted += id => inbox.RemoveAsync(id);
            client.UnreadCountChanged += count => ui.SetBadgeAsync(count); // after read/read-all/archive; a send does not push it
            client.Synced += async _ => await ui.SetBadgeAsync(await client.GetUnreadCountAsync()); // after each catch-up
            await client.StartAsync();                               // connects, then catches up before returning
            await client.MarkReadAsync(inbox.Newest.Id);             // pushes NotificationsRead + UnreadCountChanged to all the user's clients
            store.SaveCursor(client.ResumeCursor);                   // persist it now and then, e.g. on shutdown
            // README snippet ends
        }

        await RunSnippetAsync().WithTimeout(what: "the README snippet");

        // Both came before the start, by catch-up or (when the service pushed late) live: in either order.
        Assert.Equal([older, newer], inbox.Ids.Order());
        Assert.Equal(2, await ui.NextAsync());
        Assert.Equal(1, await ui.NextAsync());
        Assert.Equal(newer, store.Saved);
        Assert.True(tokens.Calls >= 1);
        using var http = service.Client(user);
        var read = await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{newer}").WithTimeout(what: "GET the read notification");
        Assert.NotNull(read!.ReadAt);
    }

    [Fact]
    public void Readme_shows_exactly_the_snippet_that_is_tested()
    {
        var readme = File.ReadAllLines(Path.Combine(ServiceProcess.RepositoryRoot, "Notifications.Client", "README.md"));
        var open = Array.FindIndex(readme, l => l.Trim() == "```csharp");
        Assert.True(open >= 0, "README.md has a ```csharp block");
        var close = Array.FindIndex(readme, open + 1, l => l.Trim() == "```");
        var documented = readme[(open + 1)..close].Select(Normalize);

        var source = File.ReadAllLines(Path.Combine(ServiceProcess.RepositoryRoot, "Notifications.Tests", "Client", "ReadmeSnippetTests.cs"));
        var first = Array.FindIndex(source, l => l.Trim() == Begin);
        var last = Array.FindIndex(source, l => l.Trim() == End);
        var tested = source[(first + 1)..last].Select(Normalize);

        Assert.Equal(tested, documented);
    }

    private static string Normalize(string line) => string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private sealed class AppTokens(string userId)
    {
        public int Calls { get; private set; }

        public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Calls++;
            return Task.FromResult(TestTokens.For(userId));
        }
    }

    private sealed class CursorStore
    {
        public long Saved { get; private set; }

        public long LoadCursor() => Saved;

        public void SaveCursor(long cursor) => Saved = cursor;
    }

    private sealed class Inbox
    {
        private readonly List<NotificationMessage> items = [];

        public IReadOnlyList<long> Ids => [.. items.Select(n => n.Id)];

        public NotificationMessage Newest => items.MaxBy(n => n.Id)!;

        public Task AddAsync(NotificationMessage notification)
        {
            items.Add(notification);
            return Task.CompletedTask;
        }

        public Task RemoveAsync(long id)
        {
            items.RemoveAll(n => n.Id == id);
            return Task.CompletedTask;
        }
    }

    private sealed class Badge
    {
        private readonly Channel<int> counts = Channel.CreateUnbounded<int>();

        public Task SetBadgeAsync(int count)
        {
            counts.Writer.TryWrite(count);
            return Task.CompletedTask;
        }

        public Task<int> NextAsync() => counts.Reader.ReadAsync().AsTask().WithTimeout(what: "a badge update");
    }
}
