using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notifications.Infrastructure.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class BroadcastBuckets : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "BroadcastBuckets",
                columns: table => new
                {
                    Bucket = table.Column<long>(type: "bigint", nullable: false),
                    Count = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BroadcastBuckets", x => x.Bucket);
                });

            // Broadcasts stored before this migration, counted once (4096 = BroadcastBucket.IdsPerBucket).
            migrationBuilder.Sql("""
                INSERT INTO "BroadcastBuckets" ("Bucket", "Count") SELECT "Id" / 4096, COUNT(*) FROM "Notifications" WHERE "Everyone" GROUP BY "Id" / 4096;
                """);

            migrationBuilder.CreateIndex(
                name: "IX_Notifications_Everyone_RetractedAt",
                table: "Notifications",
                columns: new[] { "Everyone", "RetractedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BroadcastBuckets");

            migrationBuilder.DropIndex(
                name: "IX_Notifications_Everyone_RetractedAt",
                table: "Notifications");
        }
    }
}
