using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notifications.Infrastructure.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class CoveringBroadcastIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Notifications_Everyone_Id",
                table: "Notifications");

            migrationBuilder.CreateIndex(
                name: "IX_Notifications_Everyone_Id_RetractedAt_ExpiresAt",
                table: "Notifications",
                columns: new[] { "Everyone", "Id", "RetractedAt", "ExpiresAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Notifications_Everyone_Id_RetractedAt_ExpiresAt",
                table: "Notifications");

            migrationBuilder.CreateIndex(
                name: "IX_Notifications_Everyone_Id",
                table: "Notifications",
                columns: new[] { "Everyone", "Id" });
        }
    }
}
