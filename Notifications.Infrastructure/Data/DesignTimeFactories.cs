using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Notifications.Infrastructure.Data;

// Used only by `dotnet ef` to build each provider's migrations; no server is contacted.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteNotificationsDbContext>
{
    public SqliteNotificationsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteNotificationsDbContext>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresNotificationsDbContext>
{
    public PostgresNotificationsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql("Host=localhost;Database=notifications").Options);
}

internal sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerNotificationsDbContext>
{
    public SqlServerNotificationsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqlServerNotificationsDbContext>().UseSqlServer("Server=localhost;Database=Notifications;TrustServerCertificate=True").Options);
}
