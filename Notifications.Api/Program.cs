using Notifications.Api;
using Notifications.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddNotificationsApi();

var app = builder.Build();
app.MapNotificationsApi();

var migrateOnly = args.Contains("--migrate-only");
if (migrateOnly || app.Configuration.GetValue("Database:MigrateOnStartup", true))
{
    await app.Services.MigrateNotificationsDatabaseAsync();
}

if (!migrateOnly)
{
    await app.RunAsync();
}
