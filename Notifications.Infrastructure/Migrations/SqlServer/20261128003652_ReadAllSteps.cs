using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notifications.Infrastructure.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class ReadAllSteps : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ReadAllSteps",
                columns: table => new
                {
                    UserId = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    UpToId = table.Column<long>(type: "bigint", nullable: false),
                    ReadAt = table.Column<DateTime>(type: "datetime2", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReadAllSteps", x => new { x.UserId, x.UpToId });
                });

            // Each watermark stored before this migration becomes its user's first step: the one time known for what it covers.
            migrationBuilder.Sql("""
                INSERT INTO [ReadAllSteps] ([UserId], [UpToId], [ReadAt]) SELECT [UserId], [UpToId], [ReadAt] FROM [ReadWatermarks];
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ReadAllSteps");
        }
    }
}
