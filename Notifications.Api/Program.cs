using Microsoft.Extensions.Options;
using Notifications.Api;
using Notifications.Api.Hardening;
using Notifications.Infrastructure;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddNotificationsApi();

    var app = builder.Build();
    app.MapNotificationsApi();

    // An instance's settings are all checked before the database is touched: a misconfigured instance must not migrate
    // anything. A migration job needs only the database's, which are checked as the migration reads them.
    var migrateOnly = args.Contains("--migrate-only");
    if (!migrateOnly)
    {
        app.Services.GetRequiredService<IStartupValidator>().Validate();
    }

    if (migrateOnly || app.Configuration.GetValue("Database:MigrateOnStartup", true))
    {
        await app.Services.MigrateNotificationsDatabaseAsync();
    }

    if (!migrateOnly)
    {
        await app.RunAsync();
    }
}
catch (Exception ex) when (StartupFailure.IsInvalidConfiguration(ex))
{
    return StartupFailure.Report(ex);
}

return 0;
