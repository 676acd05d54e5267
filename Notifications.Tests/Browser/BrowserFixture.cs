using Microsoft.Playwright;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Browser;

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}

/// <summary>
/// One API process and one headless Chromium for all browser tests. The API runs as the built dll in the
/// Development environment, because that is where <c>POST /dev/token</c> exists and where the static web assets
/// manifest serves wwwroot (and the npm-provided signalr.min.js) from the project; its database is a temp SQLite file.
/// The browser is Debian's chromium driven by Microsoft.Playwright's bundled driver; Playwright never downloads one.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The longest any single browser step or expectation may take; generous for a loaded 2-core machine.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly string directory = Directory.CreateTempSubdirectory("notifications-browser-").FullName;
    private IPlaywright? playwright;
    private IBrowser? browser;

    public ServiceProcess Server { get; private set; } = null!;

    public static string ScreenshotDirectory => Path.Combine(ServiceProcess.RepositoryRoot, "TestResults", "screenshots");

    public IBrowser Browser => browser ?? throw new InvalidOperationException("The browser is not running.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"Browser tests need Debian's chromium at {ChromiumPath} (apt-get install -y chromium).");
        }

        Server = new ServiceProcess(DatabaseSettings.Sqlite(Path.Combine(directory, "notifications.db"), new() { ["ASPNETCORE_ENVIRONMENT"] = "Development" }));
        var starting = Server.StartAsync(TimeSpan.FromSeconds(90));

        // Expectations poll until this limit instead of sleeping; actions (click, fill, goto) use the context default.
        Assertions.SetDefaultExpectTimeout((float)Patience.TotalMilliseconds);
        playwright = await Playwright.CreateAsync().WithTimeout(TimeSpan.FromSeconds(60), "the Playwright driver to start");
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            ChromiumSandbox = false,
            Timeout = 60_000,
            Args = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-gpu"],
        });
        await starting;
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    /// <summary>A scope for one test: its browser contexts are closed when it is disposed.</summary>
    public BrowserSession NewSession() => new(this);

    /// <summary>Starts a user from zero unread (earlier tests' broadcasts reach everyone), through the API itself.</summary>
    public async Task MarkAllReadAsync(string userId)
    {
        using var http = Server.Client(userId);
        using var response = await http.PostAsync("api/notifications/read-all", null).WithTimeout(what: "read-all");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Sends through the REST API as an admin (for setup; the dashboard's own compose form is tested separately).</summary>
    public Task<long> SendAsync(object request) => Server.SendAsync("setup-admin", request);

    public async Task DisposeAsync()
    {
        if (browser is not null)
        {
            await browser.CloseAsync().WithTimeout(TimeSpan.FromSeconds(30), "the browser to close");
        }

        playwright?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
