using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Integration;

/// <summary>
/// The service opens its SQLite connections without EF Core's decimal and regex functions, which SQLite would otherwise
/// have registered again on every open. That is only safe while no column needs them.
/// </summary>
public sealed class SqliteConnectionTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task The_service_queries_SQLite_on_connections_without_EF_Core_decimal_functions()
    {
        await using var scope = service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();

        Assert.True(await db.Notifications.CountAsync().WithTimeout() >= 0);
        var error = await Assert.ThrowsAsync<SqliteException>(() => db.Database.ExecuteSqlRawAsync("SELECT ef_add(1, 2)").WithTimeout());
        Assert.Contains("no such function: ef_add", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    [InlineData("SqlServer")]
    public void No_column_is_decimal_floating_point_or_unsigned_so_no_query_needs_those_functions(string provider)
    {
        using NotificationsDbContext db = provider switch
        {
            "Sqlite" => new SqliteNotificationsDbContext(new DbContextOptionsBuilder<SqliteNotificationsDbContext>().UseSqlite("Data Source=:memory:").Options),
            "Postgres" => new PostgresNotificationsDbContext(new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql("Host=localhost").Options),
            _ => new SqlServerNotificationsDbContext(new DbContextOptionsBuilder<SqlServerNotificationsDbContext>().UseSqlServer("Server=localhost").Options),
        };

        Type[] needFunctions = [typeof(decimal), typeof(double), typeof(float), typeof(ulong)];
        var offending = db.Model.GetEntityTypes()
            .SelectMany(entity => entity.GetProperties())
            .Where(property => needFunctions.Contains(Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType)
                || needFunctions.Contains(property.GetValueConverter()?.ProviderClrType))
            .Select(property => $"{property.DeclaringType.ClrType.Name}.{property.Name}")
            .ToList();

        Assert.True(offending.Count == 0, $"These columns need EF Core's SQLite arithmetic functions, which SqliteConnectionWithoutDecimalFunctions leaves out: {string.Join(", ", offending)}");
    }
}
